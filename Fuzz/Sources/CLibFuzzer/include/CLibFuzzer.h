#ifndef CLIBFUZZER_H
#define CLIBFUZZER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for a program that has its own `main` (LLVM 11 and later): reads libFuzzer's flags
/// from the arguments, then fuzzes `test_one_input`. Defined in the toolchain's libclang_rt.fuzzer.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));

#endif
