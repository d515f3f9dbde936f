#ifndef PROFHIST_CDEMANGLE_H
#define PROFHIST_CDEMANGLE_H

/// Demangles an Itanium C++ ABI name (also Rust's legacy scheme) with the C++ runtime's __cxa_demangle.
/// Returns a malloc'ed string the caller frees, or NULL when the name is not a valid mangled name.
char *profhist_cxa_demangle(const char *mangled);

#endif
