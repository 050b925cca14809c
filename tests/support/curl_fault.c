/*
 * Fault injection for the health checks' libcurl set-up, preloaded into
 * nginx by a test (LD_PRELOAD), never part of the module: while the file
 * named by OUTAGE_CURL_FAULT_FILE (read when nginx starts, before it
 * clears its environment) exists, curl_easy_setopt(CURLOPT_URL) of a URL
 * containing "/setup-fault" fails as a libcurl built without a feature
 * does.  Every other call goes to the real libcurl.
 *
 *   cc -shared -fPIC -o curl_fault.so curl_fault.c -ldl
 */

#define _GNU_SOURCE
#define CURL_DISABLE_TYPECHECK 1

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>


typedef CURLcode (*setopt_pt)(CURL *, CURLoption, ...);

static char  fault_file[4096];


__attribute__((constructor)) static void
curl_fault_init(void)
{
    const char  *f = getenv("OUTAGE_CURL_FAULT_FILE");

    if (f != NULL && strlen(f) < sizeof(fault_file)) {
        strcpy(fault_file, f);
    }
}


CURLcode
curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    va_list           ap;
    void             *ptr;
    long              n;
    curl_off_t        off;
    static setopt_pt  real;

    if (real == NULL) {
        real = (setopt_pt) dlsym(RTLD_NEXT, "curl_easy_setopt");
    }

    va_start(ap, option);

    /* libcurl's own rule: the option's number says its argument's type */
    if (option < CURLOPTTYPE_OBJECTPOINT) {
        n = va_arg(ap, long);
        va_end(ap);
        return real(curl, option, n);
    }

    if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB) {
        off = va_arg(ap, curl_off_t);
        va_end(ap);
        return real(curl, option, off);
    }

    ptr = va_arg(ap, void *);
    va_end(ap);

    if (option == CURLOPT_URL && ptr != NULL && fault_file[0] != '\0'
        && strstr((char *) ptr, "/setup-fault") != NULL
        && access(fault_file, F_OK) == 0)
    {
        return CURLE_NOT_BUILT_IN;
    }

    return real(curl, option, ptr);
}
