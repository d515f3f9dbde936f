#include "CDemangle.h"
#include <stddef.h>

// Provided by the C++ runtime (libstdc++ on Linux); declared here so this target stays plain C.
extern char *__cxa_demangle(const char *mangled_name, char *output_buffer, size_t *length, int *status);

char *profhist_cxa_demangle(const char *mangled) {
    int status = 0;
    char *result = __cxa_demangle(mangled, NULL, NULL, &status);
    return status == 0 ? result : NULL;
}
