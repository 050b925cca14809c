
/*
 * The runner of the C unit tests: CHECK() prints one line per failed
 * check (the first UNIT_MAX_REPORTS of them; define it before including
 * this header to cap a test that may fail in bulk) with the test's name
 * and the line, and unit_run() runs a table of tests, prints
 * "SUITE: N passed, M failed" and returns the exit status (1 if anything
 * failed).  Header-only: each unit test is a program of its own.
 */


#ifndef _UNIT_RUNNER_H_INCLUDED_
#define _UNIT_RUNNER_H_INCLUDED_


#include <stdio.h>
#include <stddef.h>


#ifndef UNIT_MAX_REPORTS
#define UNIT_MAX_REPORTS  (1 << 30)
#endif


typedef struct {
    const char  *name;
    void       (*fn)(void);
} unit_test_t;


static const char  *current;        /* the test running */
static int          current_failed;
static int          reported;       /* failure lines printed */


#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            if (reported++ < UNIT_MAX_REPORTS) {                             \
                printf("FAIL %s (line %d): %s\n", current, __LINE__, #cond); \
            }                                                                \
            current_failed = 1;                                              \
        }                                                                    \
    } while (0)


static int
unit_run(const char *suite, const unit_test_t *tests, size_t n)
{
    size_t  i;
    int     passed, failed;

    passed = 0;
    failed = 0;

    for (i = 0; i < n; i++) {
        current = tests[i].name;
        current_failed = 0;
        tests[i].fn();

        if (current_failed) {
            failed++;

        } else {
            passed++;
        }
    }

    printf("%s: %d passed, %d failed\n", suite, passed, failed);

    return failed ? 1 : 0;
}


#endif /* _UNIT_RUNNER_H_INCLUDED_ */
