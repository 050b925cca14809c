
/*
 * ngx_outage_module: shared declarations.
 *
 * Owns the types every part of the module agrees on: configuration
 * (main/location), the layout of the shared memory zone, the per-worker view
 * of the incident state, and the entry points each concern exports.
 *
 * State flow: the Redis poller and the health prober (one owner each, across
 * all workers, by lease in shared memory) write raw facts into the zone and
 * bump its generation; every worker copies the zone into a local snapshot
 * when the generation (or the wall-clock second) changes and derives the
 * effective per-scope view from it.  The request path only reads that view.
 */


#ifndef _NGX_HTTP_OUTAGE_MODULE_H_INCLUDED_
#define _NGX_HTTP_OUTAGE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_outage_text.h"
#include "ngx_http_outage_payload.h"
#include "ngx_http_outage_tz.h"


#define NGX_HTTP_OUTAGE_MAX_SCOPES      64
#define NGX_HTTP_OUTAGE_MAX_CHECKS      64
#define NGX_HTTP_OUTAGE_NAME_MAX        32
#define NGX_HTTP_OUTAGE_ERR_MAX         200
/* addresses of outage_redis remembered to tell a respelling from a move */
#define NGX_HTTP_OUTAGE_REDIS_WHERE     8
/* addresses of one check's name handed to curl, and compared by the guard */
#define NGX_HTTP_OUTAGE_CHECK_ADDRS     8
/* room for them as text, "a,[b],...", kept in the zone across reloads */
#define NGX_HTTP_OUTAGE_CHECK_ADDRS_LEN                                      \
    (NGX_HTTP_OUTAGE_CHECK_ADDRS * (NGX_INET6_ADDRSTRLEN + 3))

/*
 * The zone's layout version: bump it when a field changes meaning.  The
 * value stored in the zone also folds in the sizes of the zone's structs
 * (ngx_http_outage_zone_layout()), so a changed struct is never taken for
 * the same layout by a reload that loads another build of the module.
 */
#define NGX_HTTP_OUTAGE_ZONE_LAYOUT     0x4f550006

/*
 * A configuration's scope or check that has no slot in the zone (only a
 * worker of a configuration older than the zone's newest can miss one) is
 * mapped to this extra slot: never read by a decision, so writes by code
 * that does not check are harmless.
 */
#define NGX_HTTP_OUTAGE_NO_SLOT_SCOPE   NGX_HTTP_OUTAGE_MAX_SCOPES
#define NGX_HTTP_OUTAGE_NO_SLOT_CHECK   NGX_HTTP_OUTAGE_MAX_CHECKS
#define NGX_HTTP_OUTAGE_PASSIVE_SLOTS   32           /* 1 s buckets: window <= 30 s */
#define NGX_HTTP_OUTAGE_PASSIVE_NAMES   4            /* names seen answering */
#define NGX_HTTP_OUTAGE_PASSIVE_NAME_MAX  256        /* longer: never seen */

/* health of one check */
#define NGX_HTTP_OUTAGE_HEALTH_UNKNOWN  0
#define NGX_HTTP_OUTAGE_HEALTH_UP       1
#define NGX_HTTP_OUTAGE_HEALTH_DOWN     2

/* why a probe failed */
#define NGX_HTTP_OUTAGE_CHECK_OK        0
#define NGX_HTTP_OUTAGE_CHECK_REFUSED   1
#define NGX_HTTP_OUTAGE_CHECK_TIMEOUT   2
#define NGX_HTTP_OUTAGE_CHECK_DNS       3
#define NGX_HTTP_OUTAGE_CHECK_TLS       4
#define NGX_HTTP_OUTAGE_CHECK_STATUS    5
#define NGX_HTTP_OUTAGE_CHECK_BODY      6
#define NGX_HTTP_OUTAGE_CHECK_RESET     7
#define NGX_HTTP_OUTAGE_CHECK_OTHER     8
#define NGX_HTTP_OUTAGE_CHECK_PASSIVE   9
#define NGX_HTTP_OUTAGE_CHECK_SETUP     10  /* not probed: no verdict */

/* maintenance page body format */
/* why a scope's Redis key may have been lost, not deleted (redis_evicted) */
#define NGX_HTTP_OUTAGE_LOST_EVICTED    1
#define NGX_HTTP_OUTAGE_LOST_RESTART    2

#define NGX_HTTP_OUTAGE_FORMAT_AUTO     0
#define NGX_HTTP_OUTAGE_FORMAT_HTML     1
#define NGX_HTTP_OUTAGE_FORMAT_JSON     2

/* status handler output */
#define NGX_HTTP_OUTAGE_STATUS_JSON        1
#define NGX_HTTP_OUTAGE_STATUS_PROMETHEUS  2


/* ---- per-worker renderings (render.c) ---------------------------------- */

typedef struct ngx_http_outage_blob_s  ngx_http_outage_blob_t;
typedef struct ngx_http_outage_statuspage_s  ngx_http_outage_statuspage_t;

/* rendered bytes; never written while a request still sends them */
struct ngx_http_outage_blob_s {
    u_char                      *data;
    size_t                       len;
    size_t                       size;
    ngx_uint_t                   refs;       /* requests sending it */
    ngx_http_outage_blob_t      *next;
};

/*
 * One banner or page body of one location, rendered in the worker and
 * reused while the snapshot's generation and second stay the same.
 */
typedef struct {
    ngx_uint_t                   generation;
    time_t                       built;
    ngx_http_outage_blob_t      *current;    /* NULL: nothing valid */
    ngx_http_outage_blob_t      *blobs;      /* all, current included */
    ngx_uint_t                   flags;      /* the renderer's own */
    ngx_uint_t                   cleanup;    /* blobs freed with the cycle */
} ngx_http_outage_cache_t;


/* ---- configuration ---------------------------------------------------- */

typedef struct {
    ngx_str_t                    name;       /* as written, for logs */
    ngx_addr_t                   addr;       /* resolved at config time */
    ngx_str_t                    unix_path;  /* for unix: addresses, NUL-terminated */
    ngx_str_t                    host;       /* literal IP text, NUL-terminated */
    in_port_t                    port;
    ngx_str_t                    conf_file;  /* where, if addr.socklen == 0 */
    ngx_uint_t                   conf_line;  /* (a name not resolved yet) */
} ngx_http_outage_redis_addr_t;


typedef struct {
    ngx_uint_t                   scope;       /* scope index */
    ngx_str_t                    url;         /* NUL-terminated */
    ngx_str_t                    sent;        /* path?query as libcurl
                                                 sends it (health.c) */
    ngx_str_t                    resolve;     /* "host:port:addr" for CURLOPT_RESOLVE */
    ngx_str_t                    host;        /* a name (health.c resolves
                                                 it), empty for an IP */
    in_port_t                    port;
    ngx_str_t                    conf_file;   /* where, for the warning of */
    ngx_uint_t                   conf_line;   /* an unresolved host */
    ngx_msec_t                   interval;
    ngx_msec_t                   timeout;
    ngx_uint_t                   fall;
    ngx_uint_t                   rise;
    ngx_array_t                 *status;      /* of ngx_http_outage_range_t */
    ngx_str_t                    match;       /* body substring, or empty */
#if (NGX_PCRE)
    ngx_regex_t                 *match_regex;
#endif
    ngx_str_t                    match_regex_text;
    ngx_str_t                    method;      /* NUL-terminated */
    ngx_array_t                 *headers;     /* of ngx_str_t, "Name: value" */
    ngx_uint_t                   passive_min;     /* failures in a row */
    ngx_uint_t                   passive_ratio;   /* percent of the window */
    time_t                       passive_window;  /* seconds */
    ngx_array_t                 *passive_status;  /* app statuses that count */
    ngx_flag_t                   tls_verify;  /* tls_verify=: 0 off, else
                                                 on (unset: on) */
    ngx_str_t                    tls_trusted; /* tls_trusted_certificate=:
                                                 the file's PEM, read by
                                                 nginx -t and the master */
    ngx_uint_t                   slot;        /* index in the zone, claimed
                                                 by the worker at start */
    uint32_t                     key;         /* crc32 of scope, url,
                                                 method, header= list,
                                                 unique (nginx -t) */
    ngx_str_t                    file;        /* where it is defined, */
    ngx_uint_t                   line;        /* for nginx -t messages */
} ngx_http_outage_check_conf_t;


typedef struct {
    ngx_uint_t                   low;
    ngx_uint_t                   high;
} ngx_http_outage_range_t;


typedef struct {
    ngx_shm_zone_t              *shm_zone;
    size_t                       zone_size;
    ngx_uint_t                   conf_generation;  /* this configuration's
                                                      number in the zone */

    ngx_array_t                  scopes;      /* of ngx_str_t; index = id */
    ngx_uint_t                  *scope_slots; /* id -> zone slot, claimed by
                                                 the worker at start */

    ngx_array_t                 *redis_addrs; /* of ngx_http_outage_redis_addr_t */
    ngx_str_t                    redis_user;
    ngx_str_t                    redis_password;
    ngx_str_t                    redis_prefix;
    ngx_int_t                    redis_db;
    ngx_msec_t                   redis_interval;
    ngx_msec_t                   redis_connect_timeout;
    ngx_msec_t                   redis_timeout;
    time_t                       redis_max_stale;   /* 0: keep forever */
    void                        *redis_tls;   /* redis.c's; NULL: plain */
    ngx_flag_t                   redis_push;  /* CLIENT TRACKING link */
    ngx_msec_t                   redis_ping;  /* PING a silent push link */

    ngx_array_t                  checks;      /* of ngx_http_outage_check_conf_t */
    ngx_flag_t                   all_fail_guard;

    ngx_str_t                    bypass_secret;
    ngx_str_t                    bypass_previous;   /* rotation, or empty */
    time_t                       bypass_previous_until;
    ngx_str_t                    bypass_cookie;
    time_t                       bypass_ttl;

    uint64_t                     probe_mark;  /* X-Outage-Probe derived from
                                                 outage_probe_secret, shared
                                                 by a fleet; 0: none */

    ngx_array_t                 *cache_locs;  /* of void **: the loc_conf
                                                 of each location, as merged
                                                 (upcache.c) */

    ngx_array_t                 *scope_labels;    /* statuspage.c */
    ngx_array_t                 *status_links;    /* statuspage.c */
    ngx_http_outage_tz_t        *tz;              /* NULL: UTC */
    ngx_str_t                    tz_name;

    unsigned                     filter_needed:1;
    unsigned                     handler_needed:1;
    unsigned                     used:1;      /* any outage directive: else
                                                 no zone, handlers, filters */
} ngx_http_outage_main_conf_t;


typedef struct {
    ngx_flag_t                   banner;
    ngx_array_t                 *banner_scopes;   /* of ngx_uint_t; NULL: all */
    ngx_hash_t                   banner_types;
    ngx_array_t                 *banner_types_keys;
    ngx_uint_t                   banner_types_html; /* text/html listed */
    ngx_array_t                 *banner_status;   /* of ngx_uint_t */
    ngx_str_t                    banner_template; /* file contents */
    ngx_http_complex_value_t    *banner_html;     /* inline, with variables */
    ngx_http_complex_value_t    *banner_nonce;
    ngx_str_t                    banner_css_uri;  /* link instead of inline */
    ngx_flag_t                   banner_nocache;
    ngx_flag_t                   banner_last_modified;

    ngx_array_t                 *page_scopes;     /* of ngx_uint_t; NULL: off */
    ngx_uint_t                   page_status;
    time_t                       page_retry_after;
    ngx_str_t                    page_template;   /* file contents */
    ngx_uint_t                   page_format;
    time_t                       page_refresh;    /* 0: off */
    ngx_flag_t                   page_intercept;

    ngx_array_t                 *bypass;          /* of ngx_http_complex_value_t */
    ngx_flag_t                   passive;

    ngx_uint_t                   status_format;   /* set: status handler */
    ngx_flag_t                   bypass_login;    /* issues the staff cookie */
    ngx_flag_t                   banner_css;      /* serves the banner CSS */
    ngx_http_outage_statuspage_t *status_page;    /* NULL: not here */

    ngx_http_outage_cache_t     *banner_cache;    /* NULL: banner off */
    ngx_http_outage_cache_t     *page_cache;      /* [4]; NULL: page off */
} ngx_http_outage_loc_conf_t;


/* ---- shared memory zone ------------------------------------------------ */

typedef struct {
    ngx_pid_t                    pid;       /* 0: free */
    ngx_msec_t                   expires;   /* CLOCK_MONOTONIC ms, like
                                               ngx_current_msec in every
                                               process */
    ngx_uint_t                   conf;      /* configuration generation of
                                               the holder */
    ngx_uint_t                   epoch;     /* changes of holder: a result
                                               is written only in the epoch
                                               it was asked for in */
} ngx_http_outage_lease_t;


/*
 * Slots are claimed by name (scopes) and key (checks) by the workers of each
 * configuration at start; "claimed" is the newest configuration generation
 * that uses the slot, so that a new scope or check reuses the slot unused the
 * longest.  Fields marked (decision) are what requests decide from: a change
 * of them bumps the generation.  The others are for the status endpoint.
 */

typedef struct {
    u_char                       name[NGX_HTTP_OUTAGE_NAME_MAX];
    size_t                       name_len;     /* 0: never used */
    ngx_uint_t                   claimed;
    ngx_http_outage_incident_t   redis;        /* (decision) last good */
    time_t                       redis_since;  /* (decision) first seen in
                                                  this state */
    ngx_uint_t                   transitions;
    ngx_uint_t                   redis_expiry_told;  /* redis.expires passed
                                                        unpolled: said */
    ngx_uint_t                   redis_held;   /* the key cannot be read
                                                  (too big, unusable): its
                                                  last good state is kept */
    ngx_uint_t                   redis_evicted;  /* its key vanished in a
                                                    poll after which Redis
                                                    had evicted keys (LOST_
                                                    EVICTED), or restarted
                                                    (LOST_RESTART) */
} ngx_http_outage_shm_scope_t;


/*
 * Passive evidence of one check (health.c), updated by every worker with
 * atomic operations only: the request path never takes the zone lock for
 * it, and the generation moves only when a check changes state.
 */
typedef struct {
    ngx_atomic_t                 sec;          /* the second counted */
    ngx_atomic_t                 total;        /* judged responses */
    ngx_atomic_t                 failed;       /* of them failures */
} ngx_http_outage_shm_bucket_t;


typedef struct {
    ngx_atomic_t                 streak;       /* failures in a row */
    ngx_atomic_t                 last_failure; /* time of the streak's last */
    ngx_atomic_t                 alive;        /* responses, total */
    ngx_http_outage_shm_bucket_t buckets[NGX_HTTP_OUTAGE_PASSIVE_SLOTS];
} ngx_http_outage_shm_passive_t;


typedef struct {
    uint32_t                     key;          /* 0: never used */
    ngx_uint_t                   claimed;
    ngx_uint_t                   scope_slot;
    ngx_uint_t                   health;       /* (decision) */
    time_t                       since;        /* (decision) */
    u_char                       reason[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       reason_len;   /* (decision) the failure
                                                  that took it down: written
                                                  at the transition, kept
                                                  while down */
    ngx_uint_t                   fails;        /* consecutive */
    ngx_uint_t                   passes;       /* consecutive */
    ngx_uint_t                   last_status;
    ngx_uint_t                   last_error;   /* what the status shows,
                                                  "setup" included */
    ngx_uint_t                   probe_error;  /* the last probe's kind:
                                                  the guard's evidence */
    ngx_uint_t                   last_reached; /* a timeout came after the
                                                  request was sent */
    u_char                       last_error_text[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       last_error_len;
    ngx_msec_t                   last_latency;
    time_t                       last_checked;
    ngx_msec_t                   probed;       /* ngx_current_msec of the
                                                  last probe: how recent
                                                  the evidence is, across
                                                  a reload */
    ngx_msec_t                   direct;       /* ngx_current_msec of the
                                                  last probe answer that
                                                  was not an outage page
                                                  (pass or fail): kept
                                                  across reloads and
                                                  takeovers (health.c,
                                                  foreign) */
    ngx_uint_t                   direct_seen;  /* "direct" is set */
    ngx_msec_t                   renewed;      /* ngx_current_msec of the
                                                  last request that could
                                                  not reach the dependency
                                                  of a check down by
                                                  traffic alone: evidence
                                                  as fresh as a probe's
                                                  (health.c, renewed()) */
    ngx_uint_t                   renewed_seen; /* "renewed" is set; 0 once
                                                  an answer came through */
    ngx_msec_t                   first_sent;   /* (lock) ngx_current_msec
                                                  the check's first probe
                                                  was handed to curl while
                                                  it had no result: a
                                                  guard that holds waits
                                                  for that result
                                                  (health.c, count);
                                                  set once per slot */
    ngx_msec_t                   stale_seen;   /* (lock) ngx_current_msec
                                                  a worker first found the
                                                  check with no probe
                                                  result past the stale
                                                  limit: kept here, not per
                                                  worker, so that workers
                                                  respawned after crashes
                                                  go on from it (health.c,
                                                  stale) */
    ngx_msec_t                   stale_probed; /* (lock) "probed" then */
    ngx_uint_t                   stale;        /* (lock) stale_seen is set */
    ngx_uint_t                   probes;
    ngx_uint_t                   failures;
    ngx_uint_t                   page_answers; /* probes answered by an
                                                  outage page, not counted
                                                  (lock) */
    ngx_uint_t                   transitions;
    ngx_uint_t                   passive_failures;
    ngx_msec_t                   latency_sum;
    ngx_http_outage_shm_passive_t  passive;
    ngx_uint_t                   confirm;      /* passive evidence waits for
                                                  a probe (lock held) */
    u_char                       confirm_text[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       confirm_len;
    time_t                       confirm_told; /* last "the probe passes"
                                                  notice */
    uint32_t                     passive_key;  /* the passive settings the
                                                  evidence above was
                                                  counted under (shm.c) */
    uint64_t                     targets[NGX_HTTP_OUTAGE_CHECK_ADDRS];
    ngx_uint_t                   ntargets;     /* the addresses (keys) the
                                                  last probe was handed:
                                                  the guard's "target" */
    u_char                       addrs[NGX_HTTP_OUTAGE_CHECK_ADDRS_LEN];
    size_t                       addrs_len;    /* the addresses of its host
                                                  name the last probe was
                                                  handed, "a,[b]" as in
                                                  CURLOPT_RESOLVE: a reload
                                                  that cannot resolve the
                                                  name probes them (health.c,
                                                  kept) */
    ngx_uint_t                   target;       /* (lock) the guard's group:
                                                  index of the first check
                                                  sharing an address */
    ngx_uint_t                   explained;    /* (lock) its probes fail
                                                  since a time its scope's
                                                  Redis incident decided:
                                                  not guard evidence until
                                                  they stop failing
                                                  (health.c, count) */
    ngx_atomic_t                 own_traffic;  /* paged traffic went to
                                                  the host:port it probes:
                                                  other peers are not its
                                                  dependency (health.c) */
    time_t                       conn_failed;  /* the last connection
                                                  failure to the check's
                                                  own dependency; 0 once an
                                                  answer came through */
    uint32_t                     names_key;    /* keys the fingerprints */
    ngx_uint_t                   names_next;   /* the next one replaced */
    time_t                       names_replaced;
    uint64_t                     names[NGX_HTTP_OUTAGE_PASSIVE_NAMES];
                                               /* keyed fingerprints of
                                                  upstream host names seen
                                                  answering: "cannot
                                                  resolve" of another name
                                                  needs a probe */
} ngx_http_outage_shm_check_t;


typedef struct {
    ngx_atomic_t                 generation;    /* of the (decision) fields */
    ngx_uint_t                   layout;

    ngx_atomic_t                 conf_ticket;   /* last number given to a
                                                   configuration read */
    ngx_uint_t                   conf_generation;  /* newest configuration
                                                      whose workers run */
    ngx_msec_t                   conf_started;  /* ngx_current_msec its
                                                   first worker started:
                                                   the grace stale() gives
                                                   its prober counts from
                                                   it, which a respawned
                                                   worker does not restart
                                                   (health.c) */
    ngx_uint_t                   conf_grace;    /* that grace may still
                                                   run: 0 once it is over
                                                   for every check (32-bit
                                                   ngx_msec_t: its age
                                                   wraps after 49.7 days) */

    ngx_http_outage_lease_t      redis_lease;
    ngx_http_outage_lease_t      health_lease;
    ngx_uint_t                   redis_dropped;   /* late results from a */
    ngx_uint_t                   health_dropped;  /* lost lease */

    ngx_uint_t                   redis_up;
    ngx_uint_t                   redis_ever_ok;
    time_t                       redis_last_ok;  /* for display */
    ngx_msec_t                   redis_last_ok_ms;  /* ngx_current_msec
                                                       (monotonic, every
                                                       process): staleness */
    time_t                       redis_last_error_time;
    u_char                       redis_last_error[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       redis_last_error_len;
    ngx_uint_t                   redis_polls;
    ngx_uint_t                   redis_errors;
    ngx_uint_t                   redis_connects;
    u_char                       redis_policy[32];  /* maxmemory_policy,
                                                       as INFO said it */
    size_t                       redis_policy_len;
    uint64_t                     redis_evicted;  /* keys Redis evicted, seen
                                                    between polls */
    ngx_uint_t                   redis_stale_told;  /* max_stale passed,
                                                       said once */
    uint32_t                     redis_source;  /* the outage_redis polled:
                                                   addresses, db, prefix,
                                                   user (0: none) */
    uint32_t                     redis_data;    /* db= and prefix= */
    uint32_t                     redis_where[NGX_HTTP_OUTAGE_REDIS_WHERE];
    ngx_uint_t                   redis_nwhere;  /* the addresses, as they
                                                   resolved (shm.c) */
    ngx_uint_t                   redis_foreign; /* the scopes' Redis states
                                                   are of another source:
                                                   not evidence until the
                                                   first poll of this one */

    ngx_uint_t                   guard_active;  /* (decision) all checks
                                                   failing */
    ngx_uint_t                   guard_disproved;  /* real traffic fails
                                                      like the probes: no
                                                      guard until a target
                                                      stops failing (1), or
                                                      while a check down by
                                                      traffic fails its
                                                      probes too (2) */
    uint64_t                     probe_nonce;   /* X-Outage-Probe of the
                                                   probes, random per zone
                                                   (health.c); 0: none yet */

    /* the guard as the status shows it (health.c, under the lock) */
    ngx_uint_t                   guard_state;   /* NGX_HTTP_OUTAGE_GUARD_* */
    time_t                       guard_since;   /* of guard_state; 0: never
                                                   changed since the zone
                                                   was made */
    u_char                       guard_reason[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       guard_reason_len;  /* the evidence, as the
                                                       log line says it */

    ngx_atomic_t                 banners;
    ngx_atomic_t                 pages;
    ngx_atomic_t                 bypasses;
    ngx_atomic_t                 intercepts;

    /* one more of each: the NO_SLOT slots */
    ngx_http_outage_shm_scope_t  scopes[NGX_HTTP_OUTAGE_MAX_SCOPES + 1];
    ngx_http_outage_shm_check_t  checks[NGX_HTTP_OUTAGE_MAX_CHECKS + 1];

    ngx_atomic_t                 banner_skips;  /* due, but no place */

    /* the Redis push link, as its lease holder last saw it (redis.c) */
    ngx_uint_t                   push_state;    /* NGX_HTTP_OUTAGE_PUSH_* */
    time_t                       push_since;    /* of push_state */
    time_t                       push_error_time;
    u_char                       push_error[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       push_error_len;
    ngx_uint_t                   push_pings;    /* PINGs of a silent link */
    ngx_uint_t                   push_drops;    /* failures and refusals */
} ngx_http_outage_shm_t;


/*
 * The all-checks-failing guard (shm guard_state): off; holding probe
 * verdicts back; or every target fails but traffic from this nginx failed
 * like the probes, so the guard does not hold (health.c).
 */
#define NGX_HTTP_OUTAGE_GUARD_OFF          0
#define NGX_HTTP_OUTAGE_GUARD_HOLDING      1
#define NGX_HTTP_OUTAGE_GUARD_DISPROVED    2

/* room the status' "guard" object needs at most */
#define NGX_HTTP_OUTAGE_GUARD_STATUS_MAX                                     \
    (512 + 6 * NGX_HTTP_OUTAGE_ERR_MAX                                        \
     + NGX_HTTP_OUTAGE_MAX_SCOPES * (NGX_HTTP_OUTAGE_NAME_MAX + 4))


/* what the Redis push link does (shm push_state); 0: not opened yet */
#define NGX_HTTP_OUTAGE_PUSH_CONNECTING    0
#define NGX_HTTP_OUTAGE_PUSH_SUBSCRIBED    1
#define NGX_HTTP_OUTAGE_PUSH_RECONNECTING  2
#define NGX_HTTP_OUTAGE_PUSH_REFUSED       3


/* ---- the worker's view of one scope ------------------------------------ */

typedef struct {
    ngx_str_t                    name;
    ngx_uint_t                   state;     /* NGX_HTTP_OUTAGE_STATE_* */
    ngx_uint_t                   source;
    /* 0, or the state declared for an incident ahead (state is then
     * maintenance: not in effect); the banner and status page word it as
     * planned by this declared state */
    unsigned                     announced:3;
    unsigned                     stale:1;      /* Redis not current */
    time_t                       since;
    time_t                       eta;
    time_t                       starts;
    time_t                       ends;
    /* the key's expiry (PTTL) on ngx_current_msec's clock, 0: none: the
     * page is gone then, so Retry-After never points past it */
    ngx_msec_t                   expires;
    ngx_str_t                    message;
    ngx_str_t                    eta_text;
    ngx_str_t                    link;
    ngx_str_t                    reason;    /* health failure reason */
    /* the time of the last evidence moves with every poll and probe: it is
     * in the snapshot (ngx_http_outage_view_checked()), so that views stay
     * the same, and are shared, while only it moves */
    ngx_str_t                    warning;   /* unusable Redis times */
    ngx_str_t                    overrides; /* the failing check's reason
                                               a Redis "ok" silences */
    /* the Redis incident in effect stands whatever the checks say ("ok",
     * "checks silenced", a maintenance or down in its window): a check
     * the all-checks-failing guard holds back would not change the scope */
    unsigned                     redis_decides:1;
} ngx_http_outage_view_t;


/* what a snapshot copies of the zone: the (decision) fields, nothing else */

typedef struct {
    ngx_http_outage_incident_t   redis;
    time_t                       redis_since;
} ngx_http_outage_snap_scope_t;


typedef struct {
    ngx_uint_t                   health;
    time_t                       since;
    u_char                       reason[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       reason_len;
} ngx_http_outage_snap_check_t;


/*
 * An immutable state for requests: a request pins the one it first sees
 * (ngx_http_outage_snapshot()) and uses it to its end; the worker makes a
 * new one when the zone's generation or the second changes.  It is small
 * (this struct and one time per scope) because what is large is shared:
 * the views (decision.c's viewsets: one while no view changes, across
 * seconds) and, behind them, the copy of the zone's texts (decision.c's
 * states: one per generation).  So requests pinned across many seconds
 * cost a few hundred bytes each, not a copy of the state each.
 */

typedef struct ngx_http_outage_viewset_s  ngx_http_outage_viewset_t;

typedef struct {
    ngx_uint_t                   nscopes;
    ngx_http_outage_view_t      *scopes;    /* [nscopes], the viewset's */
    ngx_uint_t                   generation;
    time_t                       built;     /* "now" of this snapshot */
    ngx_uint_t                   max_rank;  /* of all views: 0 = all well */

    ngx_uint_t                   refs;      /* the worker's + requests' */
    ngx_http_outage_viewset_t   *viewset;
    time_t                      *checked;   /* [nscopes] last evidence */
} ngx_http_outage_snapshot_t;


/*
 * The page's per-request state (page.c): whether this response is the
 * maintenance page, a bypass, an interception.  It must survive internal
 * redirects (error_page, named locations), which zero r->ctx.
 */

typedef struct {
    ngx_uint_t                   bypass;        /* NGX_HTTP_OUTAGE_BYPASS_*
                                                   or 0 */
    ngx_chain_t                 *out;           /* the page that replaces a
                                                   body */
    void                        *inherited;     /* r->upstream on entering
                                                   this location: an earlier
                                                   location's */
    void                        *passive_conf;  /* loc conf of the paged
                                                   location whose upstream
                                                   passive detection judges
                                                   after an error_page */
    ngx_uint_t                   passive_first; /* its upstream's first
                                                   attempt in
                                                   r->upstream_states */
    void                        *passive_inherited;  /* r->upstream on
                                                   entering it */
    unsigned                     page:1;        /* this response is our
                                                   page */
    unsigned                     intercept:1;   /* replacing a failed
                                                   backend answer */
    unsigned                     sent:1;        /* the replacement body
                                                   went out */
    unsigned                     counted:1;     /* the bypass counter was
                                                   bumped */
    unsigned                     limit_req:1;   /* r->limit_req_status and */
    unsigned                     limit_conn:1;  /* limit_conn_status are the
                                                   probe's skip, set by
                                                   page.c, not by nginx, and
                                                   no preaccess phase passed
                                                   it yet */
    uint64_t                     probe_mark;    /* X-Outage-Probe the request
                                                   carried (taken out of
                                                   headers_in); 0: none */
} ngx_http_outage_page_ctx_t;


/*
 * The module's one per-request context (ngx_http_outage_ctx()), of the
 * main request: r->ctx points to it for O(1) access.  It lives in an entry
 * of the pool's cleanup list, which unpins the snapshot: the pool is the
 * main request's, shared by its subrequests, and outlives internal
 * redirects, which zero r->ctx; then one walk of the list finds it again.
 * The banner filter's state is for the main request's response in its
 * current location only: dropped when a redirect zeroes r->ctx, as nginx's
 * own filters' contexts are.
 */

typedef struct {
    ngx_http_outage_snapshot_t  *snap;      /* pinned, or NULL */
    ngx_http_outage_page_ctx_t   page;
    void                        *banner;    /* filter.c's, or NULL */
    ngx_table_elt_t             *if_none_match;      /* a page load's, */
    ngx_table_elt_t             *if_modified_since;  /* hidden from nginx's
                                                   not_modified filter while
                                                   a banner is due */
} ngx_http_outage_ctx_t;


/*
 * The fields of a scope's view, in one table (variables.c): the status
 * JSON's "scopes", the Prometheus families outage_scope_* and the $outage_*
 * variables are all derived from it, so a new field is one table entry.
 */

#define NGX_HTTP_OUTAGE_FIELD_STR   0   /* text */
#define NGX_HTTP_OUTAGE_FIELD_TIME  1   /* ISO 8601 UTC; 0: null / empty */
#define NGX_HTTP_OUTAGE_FIELD_BOOL  2
#define NGX_HTTP_OUTAGE_FIELD_ENUM  3   /* one of names[] */

typedef struct {
    ngx_uint_t                   type;
    ngx_str_t                    str;
    time_t                       time;
    ngx_uint_t                   n;         /* BOOL, ENUM */
} ngx_http_outage_value_t;


typedef struct {
    ngx_str_t                    variable;  /* "outage_...", or empty */
    const char                  *json;      /* key in "scopes", or NULL */
    const char                  *metric;    /* outage_scope_<metric> gauge
                                               (ENUM: one-hot), or NULL */
    const char                  *help;      /* of the metric */
    const char *const           *names;     /* ENUM: the values */
    ngx_uint_t                   nnames;
    ngx_uint_t                   html;      /* the variable is escaped */
    /* v is NULL for a variable when no scope has an incident; s is the
     * snapshot v is in (NULL with v) */
    void                       (*get)(ngx_http_outage_snapshot_t *s,
                                      ngx_http_outage_view_t *v,
                                      ngx_http_outage_value_t *val);
} ngx_http_outage_field_t;


extern ngx_module_t  ngx_http_outage_module;

extern ngx_http_outage_field_t  ngx_http_outage_vars[];


/* module.c */
/*
 * 1 if any Accept header of the request satisfies "test" (a pure function
 * of its value, from ngx_http_outage_pagebody.h).
 */
ngx_uint_t ngx_http_outage_header_in(ngx_http_request_t *r, ngx_str_t *name,
    int (*test)(const unsigned char *p, size_t len));
ngx_int_t ngx_http_outage_get_or_head(ngx_http_request_t *r);
/* the first header "name" of a list whose value passes test() (NULL: any) */
ngx_table_elt_t *ngx_http_outage_header_list(ngx_list_t *headers,
    ngx_str_t *name, int (*test)(const unsigned char *p, size_t len));
ngx_uint_t ngx_http_outage_accept(ngx_http_request_t *r,
    int (*test)(const unsigned char *p, size_t len));
ngx_int_t ngx_http_outage_conf_msec(ngx_conf_t *cf, ngx_str_t *v,
    size_t skip, ngx_msec_t *ms);

/* shm.c */
ngx_int_t ngx_http_outage_shm_add(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf);
ngx_int_t ngx_http_outage_shm_init_process(ngx_cycle_t *cycle);
ngx_http_outage_shm_t *ngx_http_outage_shm(void);
void ngx_http_outage_shm_lock(void);
void ngx_http_outage_shm_unlock(void);
void ngx_http_outage_shm_bump(ngx_http_outage_shm_t *shm);
ngx_uint_t ngx_http_outage_shm_current(void);
ngx_uint_t ngx_http_outage_lease_take(ngx_http_outage_lease_t *lease,
    ngx_msec_t ttl, ngx_log_t *log, const char *what);
ngx_uint_t ngx_http_outage_lease_holds(ngx_http_outage_lease_t *lease);
ngx_uint_t ngx_http_outage_lease_epoch(ngx_http_outage_lease_t *lease);
ngx_uint_t ngx_http_outage_lease_holds_since(ngx_http_outage_lease_t *lease,
    ngx_uint_t epoch);
void ngx_http_outage_lease_release(ngx_http_outage_lease_t *lease);
ngx_uint_t ngx_http_outage_scope_slot(ngx_uint_t scope);
#if (NGX_HTTP_OUTAGE_RACE_HOOK)
void ngx_http_outage_race_hook(ngx_http_request_t *r);
#endif

/* decision.c */
ngx_int_t ngx_http_outage_init_worker_view(ngx_cycle_t *cycle);
ngx_http_outage_ctx_t *ngx_http_outage_ctx(ngx_http_request_t *r,
    ngx_uint_t create);
ngx_http_outage_snapshot_t *ngx_http_outage_snapshot(ngx_http_request_t *r);
ngx_http_outage_snapshot_t *ngx_http_outage_snapshot_pin(ngx_log_t *log);
void ngx_http_outage_snapshot_release(ngx_http_outage_snapshot_t *s);
ngx_http_outage_view_t *ngx_http_outage_worst(ngx_http_outage_snapshot_t *s,
    ngx_array_t *scopes, ngx_uint_t min_state);
ngx_int_t ngx_http_outage_scope_add(ngx_conf_t *cf, ngx_str_t *name);
ngx_uint_t ngx_http_outage_state_rank(ngx_uint_t state);
uint32_t ngx_http_outage_redis_source(ngx_http_outage_main_conf_t *omcf);
ngx_uint_t ngx_http_outage_redis_usable(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, time_t now);
ngx_uint_t ngx_http_outage_redis_silences(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_incident_t *inc, time_t now);
ngx_uint_t ngx_http_outage_redis_decides(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_incident_t *inc, time_t now);

/* the banner filter's state of r, or NULL: r->ctx only, never a walk */
#define ngx_http_outage_banner_ctx(r)                                         \
    (ngx_http_get_module_ctx(r, ngx_http_outage_module)                      \
     ? ((ngx_http_outage_ctx_t *)                                            \
        ngx_http_get_module_ctx(r, ngx_http_outage_module))->banner          \
     : NULL)
time_t ngx_http_outage_view_checked(ngx_http_outage_snapshot_t *s,
    ngx_http_outage_view_t *v);

/* redis.c */
ngx_int_t ngx_http_outage_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_outage_redis_exit_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_outage_redis_postconfiguration(ngx_conf_t *cf);
char *ngx_http_outage_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* health.c */
ngx_int_t ngx_http_outage_health_init_process(ngx_cycle_t *cycle);
void ngx_http_outage_health_exit_process(ngx_cycle_t *cycle);
char *ngx_http_outage_check_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_outage_health_postconfiguration(ngx_conf_t *cf);
const char *ngx_http_outage_health_error_name(ngx_uint_t kind);
/* page.c: an answer in the rewrite phases after an internal redirect */
ngx_int_t ngx_http_outage_page_rewrite_handler(ngx_http_request_t *r);
/* page.c: a probe's limit skip reached the location's limits */
#if (nginx_version >= 1017006)
ngx_int_t ngx_http_outage_page_limits_handler(ngx_http_request_t *r);
#endif
/* a request that is this nginx's own probe: let through the page */
ngx_uint_t ngx_http_outage_health_probe_request(ngx_http_request_t *r,
    uint64_t mark);
/* a request that is a probe of any check of this nginx ($outage_probe) */
ngx_uint_t ngx_http_outage_health_probe_any(ngx_http_request_t *r,
    uint64_t mark);
/* the guard's state in the status: JSON "guard":{...}, and Prometheus */
u_char *ngx_http_outage_health_guard_json(u_char *p, u_char *last,
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_http_outage_snapshot_t *snap);
u_char *ngx_http_outage_health_guard_prometheus(u_char *p, u_char *last,
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_http_outage_snapshot_t *snap);

/* filter.c */
ngx_int_t ngx_http_outage_filter_init(ngx_conf_t *cf);
char *ngx_http_outage_types_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* page.c */
ngx_int_t ngx_http_outage_access_handler(ngx_http_request_t *r);
void ngx_http_outage_url_target(ngx_str_t *url, ngx_str_t *host,
    in_port_t *port);
ngx_uint_t ngx_http_outage_check_probes_peer(ngx_str_t *url,
    ngx_str_t *resolve, ngx_str_t *peer);
ngx_uint_t ngx_http_outage_check_down_by_probe(u_char *reason, size_t len);
ngx_uint_t ngx_http_outage_passive_unresolved(void *upstream,
    void *inherited);
uint32_t ngx_http_outage_check_passive_key(
    ngx_http_outage_check_conf_t *ck);
ngx_uint_t ngx_http_outage_passive_confirms(const char *cause,
    ngx_uint_t kind);
ngx_http_outage_loc_conf_t *ngx_http_outage_page_passive_conf(
    ngx_http_request_t *r, ngx_uint_t *first, void **inherited);
ngx_int_t ngx_http_outage_page_send(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_http_outage_snapshot_t *snap);
ngx_int_t ngx_http_outage_bypass_login_handler(ngx_http_request_t *r);
void ngx_http_outage_page_type(ngx_http_request_t *r, ngx_str_t *json);
time_t ngx_http_outage_expiry(ngx_msec_t expires, time_t now);
ngx_int_t ngx_http_outage_page_chain(ngx_http_request_t *r, ngx_str_t *part,
    ngx_uint_t n, ngx_chain_t **out);
ngx_table_elt_t *ngx_http_outage_header_push(ngx_http_request_t *r,
    char *key, size_t key_len, u_char *value, size_t value_len);
ngx_int_t ngx_http_outage_nonce_attr(ngx_http_request_t *r,
    ngx_http_outage_loc_conf_t *olcf, ngx_str_t *attr);
ngx_int_t ngx_http_outage_page_filter_init(ngx_conf_t *cf);
char *ngx_http_outage_page_merge(ngx_conf_t *cf,
    ngx_http_outage_loc_conf_t *conf);
/* the probe this location lets through as its own (the page's pass) */
ngx_uint_t ngx_http_outage_page_probe(ngx_http_request_t *r);
/* a probe of any check, in any location ($outage_probe) */
ngx_uint_t ngx_http_outage_page_probe_any(ngx_http_request_t *r);
char *ngx_http_outage_bypass_rotation(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf);

/* a small file a directive names, read at configuration time (module.c) */
#define NGX_HTTP_OUTAGE_FILE_COLON    1   /* "\"dir\":" in messages */
#define NGX_HTTP_OUTAGE_FILE_REGULAR  2   /* a FIFO or device is refused */
#define NGX_HTTP_OUTAGE_FILE_TEMP     4   /* text in cf->temp_pool: parsed,
                                             not kept */
#define NGX_HTTP_OUTAGE_FILE_CHECK    8   /* opened and looked at, not read:
                                             nginx reads it itself */

char *ngx_http_outage_conf_file(ngx_conf_t *cf, ngx_str_t *directive,
    ngx_uint_t flags, const char *what, ngx_str_t *name, size_t max,
    ngx_str_t *out);

/* filter.c */
ngx_int_t ngx_http_outage_banner_css_handler(ngx_http_request_t *r);

/* render.c */
ngx_http_outage_blob_t *ngx_http_outage_cache_find(
    ngx_http_outage_cache_t *cache, ngx_http_outage_snapshot_t *snap);
ngx_http_outage_blob_t *ngx_http_outage_cache_reserve(
    ngx_http_outage_cache_t *cache, size_t size, ngx_log_t *log);
void ngx_http_outage_cache_store(ngx_http_outage_cache_t *cache,
    ngx_http_outage_blob_t *blob, ngx_http_outage_snapshot_t *snap);
ngx_int_t ngx_http_outage_cache_hold(ngx_http_request_t *r,
    ngx_http_outage_blob_t *blob);
void ngx_http_outage_cache_hold_in(ngx_http_request_t *r,
    ngx_http_outage_blob_t *blob, ngx_pool_cleanup_t *cln);

/* status.c */
ngx_int_t ngx_http_outage_content_handler(ngx_http_request_t *r);
char *ngx_http_outage_status_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* statuspage.c */
char *ngx_http_outage_status_page_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_outage_scope_label_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_outage_status_page_merge(ngx_conf_t *cf,
    ngx_http_outage_loc_conf_t *conf);
char *ngx_http_outage_time_zone_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
void ngx_http_outage_status_link(ngx_http_request_t *r, ngx_str_t *link);
ngx_str_t *ngx_http_outage_scope_label(ngx_http_outage_main_conf_t *omcf,
    ngx_uint_t scope);

/* variables.c */
ngx_int_t ngx_http_outage_add_variables(ngx_conf_t *cf);

/* upcache.c: $outage_probe in the caches of every location */
ngx_int_t ngx_http_outage_upcache_note(ngx_conf_t *cf);
ngx_int_t ngx_http_outage_upcache_init(ngx_conf_t *cf);


/*
 * Time since a moment another process stored with its own cached clock:
 * this process's cached clock may still be behind it, so the difference is
 * taken signed and a moment "in the future" is now.  Only a little in the
 * future: where ngx_msec_t is 32 bits an age of 24.8 to 49.7 days is a
 * negative difference too, and is the unsigned one (review s11 R3).
 */

static ngx_inline ngx_msec_t
ngx_http_outage_msec_since(ngx_msec_t then)
{
    ngx_msec_int_t  d;

    d = (ngx_msec_int_t) (ngx_current_msec - then);

    if (sizeof(ngx_msec_t) == 4 && d < -86400000) {
        return ngx_current_msec - then;
    }

    return d > 0 ? (ngx_msec_t) d : 0;
}


#endif /* _NGX_HTTP_OUTAGE_MODULE_H_INCLUDED_ */
