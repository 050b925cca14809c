/*
 * Fault injection for the health checks' libcurl set-up, preloaded into
 * nginx by a test (LD_PRELOAD), never part of the module: while the file
 * named by OUTAGE_CURL_FAULT_FILE (read when nginx starts, before it
 * clears its environment) exists, curl_easy_setopt(CURLOPT_URL) of a URL
 * containing "/setup-fault" fails as a libcurl built without a feature
 * does, and curl_multi_add_handle() of a handle whose URL contains
 * "/start-fault" fails as out of memory.  While the file named by
 * OUTAGE_CURL_FAULT_MULTI_FILE exists, curl_multi_init() fails (NULL).
 * Each refusal appends a line
 * ("setup" or "start", then CLOCK_MONOTONIC in ms: the clock of Python's
 * time.monotonic()) to the file named by OUTAGE_CURL_FAULT_LOG, if set.
 * Every other call goes to the real libcurl.
 *
 *   cc -shared -fPIC -o curl_fault.so curl_fault.c -ldl
 */

#define _GNU_SOURCE
#define CURL_DISABLE_TYPECHECK 1

#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>


typedef CURLcode (*setopt_pt)(CURL *, CURLoption, ...);
typedef CURLMcode (*add_pt)(CURLM *, CURL *);
typedef CURLM *(*multi_init_pt)(void);

static char   fault_file[4096];
static char   fault_log[4096];
static char   multi_file[4096];
static CURL  *start_fault[64];     /* handles set up with a /start-fault URL */


__attribute__((constructor)) static void
curl_fault_init(void)
{
    const char  *f = getenv("OUTAGE_CURL_FAULT_FILE");

    if (f != NULL && strlen(f) < sizeof(fault_file)) {
        strcpy(fault_file, f);
    }

    f = getenv("OUTAGE_CURL_FAULT_MULTI_FILE");

    if (f != NULL && strlen(f) < sizeof(multi_file)) {
        strcpy(multi_file, f);
    }

    f = getenv("OUTAGE_CURL_FAULT_LOG");

    if (f != NULL && strlen(f) < sizeof(fault_log)) {
        strcpy(fault_log, f);
    }
}


static void
curl_fault_record(const char *what)
{
    int              fd, n;
    char             line[64];
    struct timespec  ts;

    if (fault_log[0] == '\0') {
        return;
    }

    clock_gettime(CLOCK_MONOTONIC, &ts);
    n = snprintf(line, sizeof(line), "%s %lld\n", what,
                 (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);

    fd = open(fault_log, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd != -1) {
        (void) !write(fd, line, n);
        close(fd);
    }
}


static void
curl_fault_mark(CURL *curl, int on)
{
    int  i;

    for (i = 0; i < 64; i++) {
        if (start_fault[i] == curl) {
            start_fault[i] = on ? curl : NULL;
            return;
        }
    }

    for (i = 0; on && i < 64; i++) {
        if (start_fault[i] == NULL) {
            start_fault[i] = curl;
            return;
        }
    }
}


CURLM *
curl_multi_init(void)
{
    static multi_init_pt  real;

    if (real == NULL) {
        real = (multi_init_pt) dlsym(RTLD_NEXT, "curl_multi_init");
    }

    if (multi_file[0] != '\0' && access(multi_file, F_OK) == 0) {
        curl_fault_record("multi");
        return NULL;
    }

    return real();
}


CURLMcode
curl_multi_add_handle(CURLM *multi, CURL *curl)
{
    int            i;
    static add_pt  real;

    if (real == NULL) {
        real = (add_pt) dlsym(RTLD_NEXT, "curl_multi_add_handle");
    }

    for (i = 0; i < 64; i++) {
        if (curl != NULL && start_fault[i] == curl && fault_file[0] != '\0'
            && access(fault_file, F_OK) == 0)
        {
            curl_fault_record("start");
            return CURLM_OUT_OF_MEMORY;
        }
    }

    return real(multi, curl);
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

    if (option == CURLOPT_URL) {
        curl_fault_mark(curl, ptr != NULL
                              && strstr((char *) ptr, "/start-fault") != NULL);
    }

    if (option == CURLOPT_URL && ptr != NULL && fault_file[0] != '\0'
        && strstr((char *) ptr, "/setup-fault") != NULL
        && access(fault_file, F_OK) == 0)
    {
        curl_fault_record("setup");
        return CURLE_NOT_BUILT_IN;
    }

    return real(curl, option, ptr);
}
