
/*
 * ngx_outage_module: dependency health checks.
 *
 * Owns the "outage_check" directive, the prober and passive detection.  The
 * prober drives libcurl's multi_socket API from nginx's event loop: curl's
 * sockets get borrowed nginx connections for their events (curl owns and
 * closes the sockets), curl's one timer is one nginx timer, and new probes
 * start only from our own tick.  One worker at a time probes, by lease; the
 * results, the up/down decision (fall/rise) and the all-checks-failing guard
 * live in the shared zone, so every worker and every reload sees them.
 * A LOG-phase handler judges each proxied request by nginx's own record of
 * the paged location's upstream attempts and counts it against the checks
 * of the scopes the location pages ("passive" detection: down only, by a
 * streak and a ratio over a window, atomics in the zone, the lock only when
 * the rule fires); the rule only asks the prober for an immediate probe,
 * and the check goes down when that probe fails too.  The guard counts
 * probe verdicts of distinct targets, never passive ones.
 * Texts shown by the status endpoint never carry curl's message or an
 * address; those go to error.log.
 */


#include "ngx_http_outage_module.h"

#include <curl/curl.h>

#if (NGX_OPENSSL)
#include <openssl/rand.h>
#endif


/* body bytes read per probe at most; the rest is not downloaded */
#define NGX_HTTP_OUTAGE_BODY_CAP        65536
#define NGX_HTTP_OUTAGE_MATCH_MAX       256
#define NGX_HTTP_OUTAGE_HEADER_MAX      1024
#define NGX_HTTP_OUTAGE_MIN_INTERVAL    100
#define NGX_HTTP_OUTAGE_MAX_FALL        1000
/* a probe still in flight this long after its timeout= is aborted */
#define NGX_HTTP_OUTAGE_WATCHDOG        1000
/* one of the prober's timers this late: this worker's event loop stalled */
#define NGX_HTTP_OUTAGE_STALL           250
/* after a resolver failure, asked again after 2 s, doubling up to 30 s */
#define NGX_HTTP_OUTAGE_DNS_RETRY_MIN   2000
#define NGX_HTTP_OUTAGE_DNS_RETRY_MAX   30000
/* a take-down the guard holds back: its page comes when the guard ends */
#define NGX_HTTP_OUTAGE_HELD                                                \
    "; held back by the all-checks-failing guard (outage_check_guard): "   \
    "not paged until it ends"
/*
 * What a "no live upstreams" says about the servers (passive_nolive()),
 * ordered: of two readings, the greater pages less
 */
#define NGX_HTTP_OUTAGE_NOLIVE_FAILED   0   /* every one marked failed */
#define NGX_HTTP_OUTAGE_NOLIVE_UNREAD   1   /* not known */
#define NGX_HTTP_OUTAGE_NOLIVE_BUSY     2   /* one is not marked failed */


typedef struct {
    ngx_http_outage_check_conf_t  *conf;
    ngx_uint_t                     id;          /* "#N" in logs and status */
    CURL                          *easy;
    struct curl_slist             *headers;
    struct curl_slist             *resolve;     /* NULL: no address yet */
    ngx_resolver_ctx_t            *rctx;        /* a resolution in flight */
    ngx_int_t                      dns_told;    /* resolver error logged */
    ngx_msec_t                     dns_asked;   /* when it failed last */
    ngx_msec_t                     dns_every;   /* 0: ask before each probe */
    uint64_t                       keys[NGX_HTTP_OUTAGE_CHECK_ADDRS];
    ngx_uint_t                     nkeys;       /* the addresses probed */

    ngx_msec_t                     next;        /* when the next probe is due */
    ngx_msec_t                     unstarted;   /* the last probe that
                                                   could not start (set-up
                                                   or curl refused it) */
    ngx_uint_t                     unprobed;    /* intervals in a row
                                                   without a probe */
    ngx_msec_t                     started;
    ngx_msec_t                     sent;        /* handed to curl */

    size_t                         received;
    u_char                        *body;        /* match_regex: first bytes */
    size_t                         body_len;
    u_char                         tail[NGX_HTTP_OUTAGE_MATCH_MAX];
    size_t                         tail_len;

    ngx_uint_t                     epoch;       /* of the lease, at start */

    unsigned                       in_flight:1;
    unsigned                       found:1;
    unsigned                       capped:1;
    unsigned                       start_failed:1;
    unsigned                       setup_failed:1;  /* said, until a
                                                       set-up succeeds */
    unsigned                       confirming:1;  /* asked by passive */
    unsigned                       scheduled:1;   /* the last probe started
                                                     was the interval's, not
                                                     a confirming one */
    unsigned                       resolving:1;
    unsigned                       stuck_told:1;
    unsigned                       voided:1;      /* the last timeout was
                                                     not counted (stall) */
    unsigned                       kept_told:1;   /* probes the addresses
                                                     of a previous
                                                     configuration, said */

    time_t                         foreign_told;  /* last "answered by an
                                                     outage page" warning */

    char                           errbuf[CURL_ERROR_SIZE];
} ngx_http_outage_probe_t;


typedef struct {
    ngx_http_outage_main_conf_t   *omcf;
    ngx_log_t                     *log;
    CURLM                         *multi;
    ngx_http_outage_probe_t       *probes;
    ngx_uint_t                     nprobes;

    ngx_event_t                    tick;        /* lease and schedule */
    ngx_event_t                    timer;       /* curl's timer */
    ngx_connection_t               dummy;       /* the timers' ev->data */

    ngx_connection_t             **conns;       /* lent to curl's sockets */
    ino_t                         *inos;        /* the socket of each */
    ngx_uint_t                     nconns;
    ngx_uint_t                     max_conns;

    ngx_msec_t                     period;
    ngx_msec_t                     ttl;
    ngx_msec_t                     stale_max;   /* the longest limit() */
    ngx_msec_t                     swept;       /* the last stale() */

    ngx_msec_t                     stall_slack; /* timer lateness that is
                                                   a stall, not jitter */
    ngx_msec_t                     resumed;     /* when the loop was last
                                                   seen resuming a stall */
    ngx_msec_t                     late;        /* by how much, then */
    ngx_msec_t                     stall_told;  /* the stall said last */
    ngx_msec_t                     stall_keep;  /* how long a stall can
                                                   still void a probe */

    ngx_resolver_t                *resolver;    /* NULL: names resolved
                                                   with the configuration */
    ngx_msec_t                     resolver_timeout;

    unsigned                       owner:1;
    unsigned                       global:1;
    unsigned                       init_failed:1;
    unsigned                       stalled:1;   /* resumed is set */
    unsigned                       stall_said:1;  /* stall_told is set */
} ngx_http_outage_health_t;


/*
 * "text" is shown by the status endpoint and never names a host, an
 * address or a URL; curl's own message, which does, goes to error.log only
 * ("detail").
 */
typedef struct {
    ngx_uint_t                     kind;        /* NGX_HTTP_OUTAGE_CHECK_* */
    ngx_uint_t                     status;
    ngx_msec_t                     latency;
    u_char                         text[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                         len;
    const char                    *detail;      /* NUL-terminated, or NULL */
    ngx_uint_t                     reached;     /* timed out after the
                                                   request was sent */
    ngx_uint_t                     foreign;     /* answered by an outage
                                                   page, not the target */
    ngx_uint_t                     direct;      /* curl's answer that is not
                                                   an outage page: evidence
                                                   of the target itself */
} ngx_http_outage_result_t;


/*
 * The guard's count of distinct targets (count()).  Counted: those with a
 * verdict (or a probe that passed, or one answered by the application),
 * with failing probes but no verdict yet ("pending"), and with their first
 * probe on its way ("sent"); left out, and said so in the guard's reason:
 * those with no probe result ("none") and those whose only failing checks
 * are in scopes Redis decides: silenced, or declared down or in
 * maintenance.
 */
typedef struct {
    ngx_uint_t                     ntargets;
    ngx_uint_t                     nfailing;    /* down by their probes */
    ngx_uint_t                     npending;
    ngx_uint_t                     nsent;
    ngx_uint_t                     nnone;
    ngx_uint_t                     nsilenced;
    ngx_uint_t                     ndeclared;
    ngx_uint_t                     nover;       /* failing since Redis
                                                   decided, no longer */
    ngx_uint_t                     ntraffic;    /* of nfailing, with a check
                                                   down by traffic alone */
    ngx_uint_t                     witness;     /* the first such check */
} ngx_http_outage_guard_count_t;


static char *ngx_http_outage_check_url(ngx_conf_t *cf,
    ngx_http_outage_check_conf_t *ck, ngx_str_t *url);
static ngx_int_t ngx_http_outage_check_sent(ngx_conf_t *cf,
    ngx_http_outage_check_conf_t *ck);
static ngx_int_t ngx_http_outage_check_tls_param(ngx_conf_t *cf,
    ngx_http_outage_check_conf_t *ck, ngx_str_t *v);
static ngx_uint_t ngx_http_outage_check_numeric(ngx_str_t *host);
static ngx_int_t ngx_http_outage_check_addr_cmp(struct sockaddr *a,
    struct sockaddr *b);
static uint64_t ngx_http_outage_check_key(u_char *addr, size_t len,
    in_port_t port);
static void ngx_http_outage_health_keys(ngx_http_outage_probe_t *p);
static u_char *ngx_http_outage_check_entry_addrs(u_char *entry,
    size_t *len);
static ngx_int_t ngx_http_outage_health_kept(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_keep(ngx_http_outage_shm_check_t *sc,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_regroup(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm);
static ngx_uint_t ngx_http_outage_health_probes_fail(
    ngx_http_outage_shm_check_t *sc);
static ngx_uint_t ngx_http_outage_health_explains(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_uint_t scope, time_t now);
static void ngx_http_outage_health_count(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_guard_count_t *c);
static size_t ngx_http_outage_check_resolve_entry(u_char *dst,
    size_t size, ngx_str_t *host, in_port_t port, u_char *addrs,
    size_t stride, ngx_uint_t naddrs);
static char *ngx_http_outage_check_status(ngx_conf_t *cf,
    ngx_array_t **ranges, ngx_str_t *v, size_t skip);
static char *ngx_http_outage_check_header(ngx_conf_t *cf,
    ngx_http_outage_check_conf_t *ck, ngx_str_t *v);
static ngx_int_t ngx_http_outage_check_count(ngx_conf_t *cf, ngx_str_t *v,
    size_t skip, ngx_uint_t *n);
static ngx_int_t ngx_http_outage_check_identity(ngx_pool_t *pool,
    ngx_str_t *scope, ngx_http_outage_check_conf_t *ck, ngx_str_t *id);
static ngx_int_t ngx_http_outage_check_header_cmp(const void *one,
    const void *two);

static void ngx_http_outage_check_unresolved(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf);
static void ngx_http_outage_health_tick(ngx_event_t *ev);
static void ngx_http_outage_health_tick_soon(ngx_http_outage_health_t *h);
static ngx_uint_t ngx_http_outage_health_confirm_asked(
    ngx_http_outage_probe_t *p);
static ngx_uint_t ngx_http_outage_health_held_off(
    ngx_http_outage_probe_t *p);
static ngx_int_t ngx_http_outage_health_start(ngx_http_outage_health_t *h);
static ngx_int_t ngx_http_outage_health_easy(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static ngx_int_t ngx_http_outage_health_setup(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_release(ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_unprobed(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, u_char *text, size_t len);
static void ngx_http_outage_health_stale(ngx_http_outage_health_t *h);
static ngx_msec_t ngx_http_outage_health_limit(ngx_http_outage_health_t *h,
    ngx_http_outage_check_conf_t *ck);
static void ngx_http_outage_health_unmark(ngx_http_outage_shm_check_t *sc,
    uint32_t key);
static ngx_uint_t ngx_http_outage_health_renewed(
    ngx_http_outage_shm_check_t *sc, ngx_msec_t limit);
static size_t ngx_http_outage_health_renewed_text(
    ngx_http_outage_shm_check_t *sc, u_char *buf, size_t size);
static void ngx_http_outage_passive_renew(ngx_http_outage_shm_check_t *sc,
    ngx_uint_t direct, ngx_uint_t failed);
static ngx_uint_t ngx_http_outage_health_unknown(
    ngx_http_outage_health_t *h, ngx_http_outage_shm_check_t *sc,
    ngx_uint_t *guard);
static void ngx_http_outage_health_probe(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_resolve(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_outage_health_transfer(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_dns_failed(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, const char *why);
static void ngx_http_outage_health_abort(ngx_http_outage_health_t *h);
static void ngx_http_outage_health_watchdog(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_done(ngx_http_outage_health_t *h);
static void ngx_http_outage_health_awake(ngx_http_outage_health_t *h);
static ngx_uint_t ngx_http_outage_health_stall_voids(
    ngx_http_outage_health_t *h, ngx_http_outage_probe_t *p,
    ngx_uint_t by_curl);
static ngx_uint_t ngx_http_outage_health_probe_of(ngx_http_request_t *r,
    uint64_t mark, ngx_array_t *scopes);
static ngx_uint_t ngx_http_outage_health_page_answered(
    ngx_http_outage_probe_t *p);

static ngx_uint_t ngx_http_outage_health_foreign(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p);
static void ngx_http_outage_health_judge(ngx_http_outage_probe_t *p,
    CURLcode code, ngx_http_outage_result_t *res);
static ngx_uint_t ngx_http_outage_health_silenced(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_uint_t scope, time_t now);
static u_char *ngx_http_outage_health_location(u_char *t, u_char *last,
    char *here, char *there);
static void ngx_http_outage_health_store(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, ngx_http_outage_result_t *res);
static size_t ngx_http_outage_health_reason(u_char *dst, const char *source,
    u_char *text, size_t len);
static ngx_uint_t ngx_http_outage_health_guard(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_str_t *evidence);
static void ngx_http_outage_health_guard_state(
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_uint_t state, ngx_str_t *evidence, ngx_http_outage_guard_count_t *c);
static ngx_uint_t ngx_http_outage_health_guard_holds(
    ngx_http_outage_shm_check_t *sc);
static ngx_uint_t ngx_http_outage_health_held(
    ngx_http_outage_shm_check_t *sc);
static ngx_uint_t ngx_http_outage_health_answered(
    ngx_http_outage_shm_check_t *sc);
static void ngx_http_outage_health_guard_log(ngx_log_t *log,
    ngx_http_outage_main_conf_t *omcf, ngx_uint_t change);
static void ngx_http_outage_health_guard_check(ngx_http_outage_health_t *h);
static void ngx_http_outage_health_first_sent(ngx_http_outage_probe_t *p);

static size_t ngx_http_outage_health_write(char *ptr, size_t size,
    size_t nmemb, void *userdata);
static int ngx_http_outage_health_socket(CURL *easy, curl_socket_t s,
    int what, void *userp, void *socketp);
static int ngx_http_outage_health_timer_set(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_outage_health_timer(ngx_event_t *ev);
static void ngx_http_outage_health_event(ngx_event_t *ev);
static void ngx_http_outage_health_forget(ngx_http_outage_health_t *h,
    ngx_connection_t *c, ngx_uint_t flags);
static void ngx_http_outage_health_revalidate(ngx_http_outage_health_t *h,
    ngx_connection_t *c);

static ngx_int_t ngx_http_outage_health_log_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_outage_passive_is_address(ngx_str_t *peer);
static ngx_int_t ngx_http_outage_passive_classify(ngx_http_request_t *r,
    ngx_uint_t first, void *inherited, ngx_uint_t *status,
    const char **cause, ngx_str_t **peer, ngx_uint_t *connected);
static void ngx_http_outage_health_passive(ngx_http_request_t *r,
    ngx_array_t *scopes, ngx_uint_t status, const char *cause,
    ngx_str_t *peer, ngx_str_t *name, ngx_uint_t connected, ngx_uint_t busy);
static ngx_uint_t ngx_http_outage_passive_may_be_busy(
    ngx_http_upstream_t *u);
static ngx_uint_t ngx_http_outage_passive_nolive(ngx_http_upstream_t *u);
static ngx_http_upstream_rr_peers_t *ngx_http_outage_passive_rr_peers(
    ngx_http_upstream_t *u);
static uint64_t ngx_http_outage_passive_fingerprint(uint32_t key,
    ngx_str_t *name);
static void ngx_http_outage_passive_name_record(
    ngx_http_outage_shm_check_t *sc, uint32_t key, ngx_str_t *name,
    time_t now);
static ngx_uint_t ngx_http_outage_passive_name_seen(
    ngx_http_outage_shm_check_t *sc, ngx_str_t *name);
static u_char *ngx_http_outage_passive_port(
    ngx_http_outage_check_conf_t *ck, ngx_str_t *name, ngx_str_t *host,
    in_port_t *port);
static ngx_uint_t ngx_http_outage_passive_probes(
    ngx_http_outage_check_conf_t *ck, ngx_http_outage_shm_check_t *sc,
    ngx_str_t *peer);
static ngx_uint_t ngx_http_outage_passive_name_own(
    ngx_http_outage_check_conf_t *ck, ngx_http_outage_shm_check_t *sc,
    ngx_str_t *name);
static void ngx_http_outage_passive_unowned_log(ngx_http_request_t *r,
    ngx_http_outage_main_conf_t *omcf, ngx_array_t *scopes,
    ngx_uint_t status, const char *cause, ngx_str_t *peer);
static ngx_uint_t ngx_http_outage_passive_count(
    ngx_http_outage_shm_passive_t *ps, ngx_uint_t min, ngx_uint_t ratio,
    time_t window, time_t since, time_t now, ngx_uint_t failed);


static ngx_http_outage_health_t  ngx_http_outage_health;


static const char  *ngx_http_outage_check_error_names[] = {
    "ok", "refused", "timeout", "dns", "tls", "status", "body", "reset",
    "other", "passive", "setup"
};


/* ---- configuration ---------------------------------------------------- */

char *
ngx_http_outage_check_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    u_char                        *p;
    uint32_t                       key;
    time_t                         w;
    ngx_int_t                      scope, n;
    ngx_str_t                     *value, *names, s, name, id, other;
    size_t                         k, m;
    u_char                         preview[2][64];
    ngx_uint_t                     i, j;
    ngx_http_outage_range_t       *range;
    ngx_http_outage_check_conf_t  *ck, *checks;
#if (NGX_PCRE)
    u_char                         errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t            rc;
#endif

    value = cf->args->elts;

    if (omcf->checks.nelts >= NGX_HTTP_OUTAGE_MAX_CHECKS) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "too many \"outage_check\" directives, at most %d",
                           NGX_HTTP_OUTAGE_MAX_CHECKS);
        return NGX_CONF_ERROR;
    }

    scope = ngx_http_outage_scope_add(cf, &value[1]);
    if (scope == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    ck = ngx_array_push(&omcf->checks);
    if (ck == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(ck, sizeof(ngx_http_outage_check_conf_t));

    ck->scope = (ngx_uint_t) scope;
    ck->interval = 2000;
    ck->timeout = 1000;
    ck->fall = 3;
    ck->rise = 2;
    ck->passive_min = 10;
    ck->passive_ratio = 80;
    ck->passive_window = 5;
    ck->tls_verify = NGX_CONF_UNSET;    /* not "off": verify */
    ngx_str_set(&ck->method, "GET");

    if (ngx_http_outage_check_url(cf, ck, &value[2]) != NGX_CONF_OK
        || ngx_http_outage_check_sent(cf, ck) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            if (ngx_http_outage_conf_msec(cf, &value[i], 9, &ck->interval)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (ck->interval < NGX_HTTP_OUTAGE_MIN_INTERVAL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": interval must be at "
                                   "least %dms in \"%V\"",
                                   NGX_HTTP_OUTAGE_MIN_INTERVAL, &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            if (ngx_http_outage_conf_msec(cf, &value[i], 8, &ck->timeout)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "fall=", 5) == 0) {
            if (ngx_http_outage_check_count(cf, &value[i], 5, &ck->fall)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "rise=", 5) == 0) {
            if (ngx_http_outage_check_count(cf, &value[i], 5, &ck->rise)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "status=", 7) == 0) {
            if (ngx_http_outage_check_status(cf, &ck->status, &value[i], 7)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "passive_status=", 15) == 0) {
            if (ngx_http_outage_check_status(cf, &ck->passive_status,
                                             &value[i], 15)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "passive_min=", 12) == 0) {
            if (ngx_http_outage_check_count(cf, &value[i], 12,
                                            &ck->passive_min)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "passive_ratio=", 14) == 0) {
            s.data = value[i].data + 14;
            s.len = value[i].len - 14;

            if (s.len && s.data[s.len - 1] == '%') {
                s.len--;
            }

            n = ngx_atoi(s.data, s.len);

            if (n < 1 || n > 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": invalid ratio in "
                                   "\"%V\", expected 1 to 100 (percent)",
                                   &value[i]);
                return NGX_CONF_ERROR;
            }

            ck->passive_ratio = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strncmp(value[i].data, "passive_window=", 15) == 0) {
            s.data = value[i].data + 15;
            s.len = value[i].len - 15;

            w = ngx_parse_time(&s, 1);

            if (w == (time_t) NGX_ERROR || w < 1
                || w > NGX_HTTP_OUTAGE_PASSIVE_SLOTS - 2)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": invalid window in "
                                   "\"%V\", expected 1s to %ds",
                                   &value[i],
                                   NGX_HTTP_OUTAGE_PASSIVE_SLOTS - 2);
                return NGX_CONF_ERROR;
            }

            ck->passive_window = w;
            continue;
        }

        if (ngx_strncmp(value[i].data, "match=", 6) == 0) {
            ck->match.data = value[i].data + 6;
            ck->match.len = value[i].len - 6;

            if (ck->match.len == 0
                || ck->match.len > NGX_HTTP_OUTAGE_MATCH_MAX)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": match needs 1 to %d "
                                   "bytes in \"%V\"",
                                   NGX_HTTP_OUTAGE_MATCH_MAX, &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "match_regex=", 12) == 0) {
            s.data = value[i].data + 12;
            s.len = value[i].len - 12;

            if (s.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": empty regular "
                                   "expression in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

#if (NGX_PCRE)
            ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

            rc.pattern = s;
            rc.pool = cf->pool;
            rc.err.len = NGX_MAX_CONF_ERRSTR;
            rc.err.data = errstr;

            if (ngx_regex_compile(&rc) != NGX_OK) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": invalid regular "
                                   "expression in \"%V\": %V",
                                   &value[i], &rc.err);
                return NGX_CONF_ERROR;
            }

            ck->match_regex = rc.regex;
            ck->match_regex_text = s;
            continue;
#else
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": match_regex needs nginx "
                               "built with PCRE");
            return NGX_CONF_ERROR;
#endif
        }

        if (ngx_strncmp(value[i].data, "method=", 7) == 0) {
            ck->method.data = value[i].data + 7;
            ck->method.len = value[i].len - 7;

            for (p = ck->method.data; p < ck->method.data + ck->method.len;
                 p++)
            {
                if (*p < 'A' || *p > 'Z') {
                    break;
                }
            }

            if (ck->method.len == 0 || ck->method.len > 16
                || p != ck->method.data + ck->method.len)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_check\": invalid method in "
                                   "\"%V\", expected an upper-case token "
                                   "such as GET, HEAD or POST", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "header=", 7) == 0) {
            if (ngx_http_outage_check_header(cf, ck, &value[i])
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        n = ngx_http_outage_check_tls_param(cf, ck, &value[i]);

        if (n == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (n == NGX_OK) {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": unknown parameter \"%V\"",
                           &value[i]);
        return NGX_CONF_ERROR;
    }

    if (ck->timeout >= ck->interval) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": timeout (%Mms) must be shorter "
                           "than interval (%Mms)", ck->timeout, ck->interval);
        return NGX_CONF_ERROR;
    }

    if (ck->method.len == 4 && ngx_strncmp(ck->method.data, "HEAD", 4) == 0
        && (ck->match.len || ck->match_regex_text.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": match and match_regex need a "
                           "body, which method=HEAD does not get");
        return NGX_CONF_ERROR;
    }

    /* NUL-terminated copies for curl */

    p = ngx_pnalloc(cf->pool, ck->method.len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, ck->method.data, ck->method.len);
    p[ck->method.len] = '\0';
    ck->method.data = p;

    if (ck->status == NULL) {
        ck->status = ngx_array_create(cf->pool, 1,
                                      sizeof(ngx_http_outage_range_t));
        if (ck->status == NULL) {
            return NGX_CONF_ERROR;
        }

        range = ngx_array_push(ck->status);
        if (range == NULL) {
            return NGX_CONF_ERROR;
        }

        /* a health endpoint that redirects is almost never healthy */
        range->low = 200;
        range->high = 299;
    }

    /*
     * The key names the check's slot in the zone across reloads: the same
     * check keeps its state.  A check is the request it sends (scope, url,
     * method, header= list): two that send different requests, such as two
     * virtual hosts behind one address, measure different things; two that
     * send the same one and only judge the answer differently would fight
     * over one state.  The key must be unique in a configuration, and a
     * function of the check alone: a key that depended on the order of the
     * directives (the next free number) would name another check's slot in
     * a configuration that orders them differently, and the workers of the
     * two would apply their fall/rise and intervals to each other's state.
     * So a second check sending the same request, and (about once in 2^32)
     * two whose keys collide, are refused.
     */

    name = value[1];

    if (ngx_http_outage_check_identity(cf->temp_pool, &name, ck, &id)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    key = ngx_crc32_short(id.data, id.len);

    if (key == 0) {
        key = 1;        /* 0 marks a free slot */
    }

    ck->key = key;
    ck->line = cf->conf_file->line;
    ck->file.len = cf->conf_file->file.name.len;
    ck->file.data = ngx_pstrdup(cf->pool, &cf->conf_file->file.name);
    if (ck->file.data == NULL) {
        return NGX_CONF_ERROR;
    }

    checks = omcf->checks.elts;
    names = omcf->scopes.elts;

    for (j = 0; j + 1 < omcf->checks.nelts; j++) {
        if (checks[j].key != key) {
            continue;
        }

        if (ngx_http_outage_check_identity(cf->temp_pool,
                                           &names[checks[j].scope],
                                           &checks[j], &other)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        /* URLs may be long: previews, so that the reason is not cut off */
        k = ngx_http_outage_log_preview(preview[0], sizeof(preview[0]),
                                        ck->url.data, ck->url.len);

        if (other.len == id.len
            && ngx_memcmp(other.data, id.data, id.len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": duplicate check of scope "
                               "\"%V\" and url \"%*s\" with the same method "
                               "and headers, first defined in %V:%ui: a "
                               "check's state in the shared zone is named by "
                               "the request it sends (scope, url, method, "
                               "header=), so the two would take each other's;"
                               " merge them into one", &name, k, preview[0],
                               &checks[j].file, checks[j].line);
            return NGX_CONF_ERROR;
        }

        m = ngx_http_outage_log_preview(preview[1], sizeof(preview[1]),
                                        checks[j].url.data,
                                        checks[j].url.len);

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": the check of scope \"%V\" "
                           "and url \"%*s\" has the same slot key (crc32 "
                           "%08xD) as the check of scope \"%V\" and url "
                           "\"%*s\" in %V:%ui, so they would share one "
                           "state in the shared zone; change either url (a "
                           "query string such as \"?2\" is enough)", &name,
                           k, preview[0], key,
                           &names[checks[j].scope], m, preview[1],
                           &checks[j].file, checks[j].line);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * The check's identity, hashed into its slot key: "scope url" as before
 * (so a GET without header= keeps its slot across an upgrade), then
 * "\nmethod M" unless GET, then "\nheader name:value" per header= in a
 * canonical order: names lower-cased, sorted, so that reordering the
 * parameters or a name's case (which HTTP ignores) names the same slot.
 * Neither the url nor a header may hold LF, so the parts cannot run into
 * each other.
 */

static ngx_int_t
ngx_http_outage_check_identity(ngx_pool_t *pool, ngx_str_t *scope,
    ngx_http_outage_check_conf_t *ck, ngx_str_t *id)
{
    u_char      *p, *colon;
    size_t       len;
    ngx_str_t   *h, *sorted;
    ngx_uint_t   i, n;

    n = ck->headers ? ck->headers->nelts : 0;
    h = n ? ck->headers->elts : NULL;

    len = scope->len + 1 + ck->url.len;

    if (ck->method.len != 3 || ngx_strncmp(ck->method.data, "GET", 3) != 0) {
        len += sizeof("\nmethod ") - 1 + ck->method.len;
    }

    sorted = NULL;

    if (n) {
        sorted = ngx_palloc(pool, n * sizeof(ngx_str_t));
        if (sorted == NULL) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < n; i++) {
        sorted[i].len = h[i].len;
        sorted[i].data = ngx_pnalloc(pool, h[i].len);
        if (sorted[i].data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(sorted[i].data, h[i].data, h[i].len);

        colon = ngx_strlchr(sorted[i].data, sorted[i].data + h[i].len, ':');
        if (colon != NULL) {
            ngx_strlow(sorted[i].data, sorted[i].data,
                       colon - sorted[i].data);
        }

        len += sizeof("\nheader ") - 1 + h[i].len;
    }

    if (n > 1) {
        ngx_sort(sorted, n, sizeof(ngx_str_t),
                 ngx_http_outage_check_header_cmp);
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    id->data = p;

    p = ngx_cpymem(p, scope->data, scope->len);
    *p++ = ' ';
    p = ngx_cpymem(p, ck->url.data, ck->url.len);

    if (ck->method.len != 3 || ngx_strncmp(ck->method.data, "GET", 3) != 0) {
        p = ngx_cpymem(p, "\nmethod ", sizeof("\nmethod ") - 1);
        p = ngx_cpymem(p, ck->method.data, ck->method.len);
    }

    for (i = 0; i < n; i++) {
        p = ngx_cpymem(p, "\nheader ", sizeof("\nheader ") - 1);
        p = ngx_cpymem(p, sorted[i].data, sorted[i].len);
    }

    id->len = p - id->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_check_header_cmp(const void *one, const void *two)
{
    ngx_int_t         rc;
    const ngx_str_t  *a = one, *b = two;

    rc = ngx_memcmp(a->data, b->data, ngx_min(a->len, b->len));

    if (rc != 0) {
        return rc;
    }

    return (ngx_int_t) a->len - (ngx_int_t) b->len;
}


/*
 * tls_verify= and tls_trusted_certificate=: how the probe judges the
 * target's certificate, so that it can judge it the way nginx's traffic
 * does (proxy_ssl_verify, proxy_ssl_trusted_certificate).  The CA file is
 * read here, by the master, as nginx reads its own: a worker (another
 * user) need not be able to read it, no probe reads a file on the event
 * loop, and one that cannot be read or holds no certificate fails nginx -t
 * rather than every probe ("tls"), which would page the scope for a typo.
 * NGX_DECLINED: not one of these parameters.
 */

#define NGX_HTTP_OUTAGE_CHECK_CA_MAX  (4 * 1024 * 1024)

static ngx_str_t  ngx_http_outage_check_name = ngx_string("outage_check");


/*
 * Whether the libcurl nginx runs with takes CA certificates from memory:
 * not every TLS library behind it does (GnuTLS does not), and a probe
 * whose set-up fails would stop the prober, silently, at run time.
 */

static ngx_int_t
ngx_http_outage_check_ca_blob(ngx_conf_t *cf)
{
#if (LIBCURL_VERSION_NUM >= 0x074d00)
    CURL              *e;
    CURLcode           rc;
    const char        *ssl;
    struct curl_blob   blob;

    e = curl_easy_init();
    if (e == NULL) {
        return NGX_ERROR;
    }

    blob.data = (void *) "";
    blob.len = 0;
    blob.flags = CURL_BLOB_COPY;

    rc = curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);

    curl_easy_cleanup(e);

    if (rc == CURLE_OK) {
        return NGX_OK;
    }

    ssl = curl_version_info(CURLVERSION_NOW)->ssl_version;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_check\": \"tls_trusted_certificate=\" "
                       "needs a libcurl whose TLS library takes CA "
                       "certificates from memory, such as OpenSSL "
                       "(this one: %s)", ssl ? ssl : "without TLS");
    return NGX_ERROR;
#else
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_check\": \"tls_trusted_certificate=\" "
                       "needs libcurl 7.77 or later");
    return NGX_ERROR;
#endif
}

static ngx_int_t
ngx_http_outage_check_tls_param(ngx_conf_t *cf,
    ngx_http_outage_check_conf_t *ck, ngx_str_t *v)
{
    u_char           *pem;
    size_t            size;
    ngx_str_t         s, ca;
#if (NGX_OPENSSL)
    BIO              *bio;
    X509             *x;
#endif

    if (v->len >= 11 && ngx_strncmp(v->data, "tls_verify=", 11) == 0) {
        s.data = v->data + 11;
        s.len = v->len - 11;

        if (ck->tls_verify != NGX_CONF_UNSET) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": duplicate \"tls_verify=\"");
            return NGX_ERROR;
        }

        if (s.len == 2 && ngx_strncmp(s.data, "on", 2) == 0) {
            ck->tls_verify = 1;

        } else if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
            ck->tls_verify = 0;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": invalid value in \"%V\", "
                               "expected \"on\" or \"off\"", v);
            return NGX_ERROR;
        }

    } else if (v->len >= 24
               && ngx_strncmp(v->data, "tls_trusted_certificate=", 24) == 0)
    {
        if (ck->tls_trusted.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": duplicate "
                               "\"tls_trusted_certificate=\"");
            return NGX_ERROR;
        }

        if (ngx_http_outage_check_ca_blob(cf) != NGX_OK) {
            return NGX_ERROR;
        }

        s.len = v->len - 24;
        s.data = ngx_pnalloc(cf->pool, s.len + 1);
        if (s.data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(s.data, v->data + 24, s.len);
        s.data[s.len] = '\0';

        if (s.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": no file in \"%V\"", v);
            return NGX_ERROR;
        }

        /*
         * Relative to the directory of nginx.conf, as nginx's own
         * *_certificate files; the module's one reader, so that a FIFO
         * named here cannot hang nginx -t.  libcurl gets the bytes
         * (CURLOPT_CAINFO_BLOB), never the path: no probe opens it.
         */
        if (ngx_http_outage_conf_file(cf, &ngx_http_outage_check_name,
                                      NGX_HTTP_OUTAGE_FILE_COLON
                                      | NGX_HTTP_OUTAGE_FILE_REGULAR,
                                      "\"tls_trusted_certificate=\" file ",
                                      &s, NGX_HTTP_OUTAGE_CHECK_CA_MAX, &ca)
            != NGX_CONF_OK)
        {
            return NGX_ERROR;
        }

        pem = ca.data;
        size = ca.len;

#if (NGX_OPENSSL)
        bio = BIO_new_mem_buf(pem, (int) size);
        x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

        if (bio) {
            BIO_free(bio);
        }

        ERR_clear_error();

        if (x == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": \"%s\" of "
                               "\"tls_trusted_certificate=\" holds no PEM "
                               "certificate", s.data);
            return NGX_ERROR;
        }

        X509_free(x);
#endif

        ck->tls_trusted.data = pem;
        ck->tls_trusted.len = size;

    } else {
        return NGX_DECLINED;
    }

    /* the URL is value[2], parsed before any parameter */
    if (ck->url.len < 8
        || ngx_strncasecmp(ck->url.data, (u_char *) "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": \"%V\" needs an https:// "
                           "URL", v);
        return NGX_ERROR;
    }

    if (!ck->tls_verify && ck->tls_trusted.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": \"tls_trusted_certificate=\" "
                           "has no use with \"tls_verify=off\"");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The request line's target a probe sends, as libcurl makes it from the
 * URL: "./" and "../" removed, "/" for an empty path, no fragment.  A
 * self-probe is recognised by it (probe_request()); the URL itself is
 * sent as curl always did.
 */

static ngx_int_t
ngx_http_outage_check_sent(ngx_conf_t *cf, ngx_http_outage_check_conf_t *ck)
{
    char       *path, *query;
    size_t      plen, qlen;
    CURLU      *u;
    ngx_int_t   rc;

    path = NULL;
    query = NULL;
    rc = NGX_ERROR;

    u = curl_url();
    if (u == NULL) {
        goto done;
    }

    if (curl_url_set(u, CURLUPART_URL, (char *) ck->url.data, 0) != CURLUE_OK
        || curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": libcurl cannot parse the url "
                           "\"%V\"", &ck->url);
        goto done;
    }

    if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK) {
        query = NULL;
    }

    plen = ngx_strlen(path);
    qlen = query ? ngx_strlen(query) : 0;

    ck->sent.len = plen + (query ? 1 + qlen : 0);
    ck->sent.data = ngx_pnalloc(cf->pool, ck->sent.len);
    if (ck->sent.data == NULL) {
        goto done;
    }

    ngx_memcpy(ck->sent.data, path, plen);

    if (query) {
        ck->sent.data[plen] = '?';
        ngx_memcpy(ck->sent.data + plen + 1, query, qlen);
    }

    rc = NGX_OK;

done:

    curl_free(path);
    curl_free(query);

    if (u) {
        curl_url_cleanup(u);
    }

    return rc;
}


/*
 * Only http and https.  A host name is looked up here; its addresses go to
 * curl as a CURLOPT_RESOLVE entry, so that curl never resolves a name by
 * itself (its resolver blocks or runs threads).  A name that does not
 * resolve now is not an error: a dependency's DNS outage must not stop
 * nginx from starting or reloading.  The check then fails its probes with
 * kind "dns" until the name resolves (with "resolver", at run time; without
 * it, at a reload); postconfiguration() warns.
 */

static char *
ngx_http_outage_check_url(ngx_conf_t *cf, ngx_http_outage_check_conf_t *ck,
    ngx_str_t *url)
{
    u_char      *p, *last;
    size_t       skip, len;
    in_port_t    port;
    ngx_url_t    u;

    if (url->len > 7 && ngx_strncasecmp(url->data, (u_char *) "http://", 7)
                        == 0)
    {
        skip = 7;
        port = 80;

    } else if (url->len > 8
               && ngx_strncasecmp(url->data, (u_char *) "https://", 8) == 0)
    {
        skip = 8;
        port = 443;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": invalid url \"%V\", only "
                           "http:// and https:// are supported", url);
        return NGX_CONF_ERROR;
    }

    for (p = url->data; p < url->data + url->len; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": invalid url \"%V\": "
                               "spaces and control characters must be "
                               "percent-encoded", url);
            return NGX_CONF_ERROR;
        }
    }

    last = url->data + url->len;

    for (p = url->data + skip; p < last && *p != '/' && *p != '?'; p++) {
        if (*p == '@') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": invalid url \"%V\": "
                               "credentials in the url are not supported, "
                               "use header=Authorization:...", url);
            return NGX_CONF_ERROR;
        }
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = url->data + skip;
    u.url.len = url->len - skip;
    u.default_port = port;
    u.uri_part = 1;
    u.no_resolve = 1;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": invalid url \"%V\": %s", url,
                           u.err ? u.err : "cannot parse");
        return NGX_CONF_ERROR;
    }

    if (u.host.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": invalid url \"%V\": no host",
                           url);
        return NGX_CONF_ERROR;
    }

    ck->url.len = url->len;
    ck->url.data = ngx_pnalloc(cf->pool, url->len + 1);
    if (ck->url.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(ck->url.data, url->data, url->len);
    ck->url.data[url->len] = '\0';

    if (ngx_http_outage_check_numeric(&u.host)) {
        return NGX_CONF_OK;     /* an IP: curl needs no name resolved */
    }

    ck->host = u.host;
    ck->port = u.no_port ? port : u.port;
    ck->conf_file = cf->conf_file->file.name;
    ck->conf_line = cf->conf_file->line;

    if (ngx_inet_resolve_host(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        return NGX_CONF_OK;     /* ck->resolve empty: warned and probed */
    }

    len = ck->host.len + sizeof(":65535:")
          + u.naddrs * (NGX_SOCKADDR_STRLEN + 3);

    ck->resolve.data = ngx_pnalloc(cf->pool, len);
    if (ck->resolve.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ck->resolve.len = ngx_http_outage_check_resolve_entry(ck->resolve.data,
                                              len, &ck->host, ck->port,
                                              (u_char *) u.addrs,
                                              sizeof(ngx_addr_t), u.naddrs);

    return NGX_CONF_OK;
}


/*
 * An address in any form the C library takes ("127.1", "2130706433",
 * "[::1]") is never a name: nginx's resolver, asked for it, would say
 * "no such name" although curl connects to it.
 */

static ngx_uint_t
ngx_http_outage_check_numeric(ngx_str_t *host)
{
    u_char          buf[NGX_SOCKADDR_STRLEN + 1];
    struct in_addr  in;

    if (host->len == 0 || host->data[0] == '['
        || ngx_inet_addr(host->data, host->len) != INADDR_NONE)
    {
        return host->len != 0;
    }

    if (host->len >= sizeof(buf)) {
        return 0;
    }

    ngx_memcpy(buf, host->data, host->len);
    buf[host->len] = '\0';

    return inet_aton((char *) buf, &in) != 0;
}


/*
 * "host:port:addr,addr,..." for CURLOPT_RESOLVE into dst, NUL-terminated,
 * IPv6 addresses in brackets: the NGX_HTTP_OUTAGE_CHECK_ADDRS lowest of
 * all, sorted (IPv4 first), each once.  curl tries them in turn within the
 * probe's timeout (it splits the connect timeout between the addresses
 * left), so the probe passes when any of them answers, as nginx's own
 * traffic to the name does with proxy_next_upstream; the watchdog bounds
 * the probe whatever curl does.  Sorted and bounded, the entry is the same
 * for any order of the same set (nginx's resolver rotates its answers) and
 * changes only when the set does.  "addrs" are ngx_addr_t (configuration
 * time) or ngx_resolver_addr_t (nginx's resolver), both of which begin
 * with sockaddr and socklen; "stride" is the size of one.  Returns the
 * length, 0 if none fits.
 */

static size_t
ngx_http_outage_check_resolve_entry(u_char *dst, size_t size,
    ngx_str_t *host, in_port_t port, u_char *addrs, size_t stride,
    ngx_uint_t naddrs)
{
    u_char      *p, *last, buf[NGX_SOCKADDR_STRLEN];
    size_t       n;
    ngx_uint_t   i, k;
    ngx_addr_t  *a, *min, *prev;

    if (naddrs == 0
        || size < host->len + sizeof(":65535:") + NGX_SOCKADDR_STRLEN + 3)
    {
        return 0;
    }

    p = dst;
    last = dst + size - 1;      /* room for the NUL */

    p = ngx_slprintf(p, last, "%V:%d:", host, (int) port);

    prev = NULL;

    for (k = 0; k < NGX_HTTP_OUTAGE_CHECK_ADDRS; k++) {

        /* the next lowest after prev: O(8 n), no copy of the answer */
        min = NULL;

        for (i = 0; i < naddrs; i++) {
            a = (ngx_addr_t *) (addrs + i * stride);

            if (prev
                && ngx_http_outage_check_addr_cmp(a->sockaddr, prev->sockaddr)
                   <= 0)
            {
                continue;
            }

            if (min == NULL
                || ngx_http_outage_check_addr_cmp(a->sockaddr, min->sockaddr)
                   < 0)
            {
                min = a;
            }
        }

        if (min == NULL || (size_t) (last - p) < NGX_SOCKADDR_STRLEN + 3) {
            break;
        }

        n = ngx_sock_ntop(min->sockaddr, min->socklen, buf, sizeof(buf), 0);

        if (min->sockaddr->sa_family == AF_INET6) {
            p = ngx_slprintf(p, last, "%s[%*s]", k ? "," : "", n, buf);

        } else {
            p = ngx_slprintf(p, last, "%s%*s", k ? "," : "", n, buf);
        }

        prev = min;
    }

    *p = '\0';

    return p - dst;
}


/*
 * The guard's identity of one address probed: family, address and port
 * (any spelling of one address gives one key), or a name that has no
 * address.  Pure.
 */

static uint64_t
ngx_http_outage_check_key(u_char *addr, size_t len, in_port_t port)
{
    u_char           buf[NGX_SOCKADDR_STRLEN + 1], *b;
    size_t           n, i;
    uint64_t         key;
    struct in_addr   in4;
#if (NGX_HAVE_INET6)
    struct in6_addr  in6;
#endif

    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }

    key = 14695981039346656037ULL;      /* FNV-1a */
    b = NULL;
    n = 0;

    if (len < sizeof(buf)) {
        ngx_memcpy(buf, addr, len);
        buf[len] = '\0';

#if (NGX_HAVE_INET6)
        if (inet_pton(AF_INET6, (char *) buf, &in6) == 1) {
            key = (key ^ 6) * 1099511628211ULL;
            b = (u_char *) &in6;
            n = 16;

        } else
#endif
        if (inet_aton((char *) buf, &in4) != 0) {
            key = (key ^ 4) * 1099511628211ULL;
            b = (u_char *) &in4;
            n = 4;
        }
    }

    if (b == NULL) {
        key = (key ^ 'n') * 1099511628211ULL;

        for (i = 0; i < len; i++) {
            key = (key ^ ngx_tolower(addr[i])) * 1099511628211ULL;
        }

    } else {
        for (i = 0; i < n; i++) {
            key = (key ^ b[i]) * 1099511628211ULL;
        }
    }

    key = (key ^ (port >> 8)) * 1099511628211ULL;
    key = (key ^ (port & 0xff)) * 1099511628211ULL;

    return key;
}


/* by family (IPv4 first), then address; ports are ignored */

static ngx_int_t
ngx_http_outage_check_addr_cmp(struct sockaddr *a, struct sockaddr *b)
{
    if (a->sa_family != b->sa_family) {
        return a->sa_family == AF_INET ? -1 : 1;
    }

#if (NGX_HAVE_INET6)
    if (a->sa_family == AF_INET6) {
        return ngx_memcmp(&((struct sockaddr_in6 *) a)->sin6_addr,
                          &((struct sockaddr_in6 *) b)->sin6_addr, 16);
    }
#endif

    if (a->sa_family == AF_INET) {
        return ngx_memcmp(&((struct sockaddr_in *) a)->sin_addr,
                          &((struct sockaddr_in *) b)->sin_addr, 4);
    }

    return 0;
}


/*
 * "status=200-399,404", "passive_status=503": ranges or single codes, 100
 * to 599
 */

static char *
ngx_http_outage_check_status(ngx_conf_t *cf, ngx_array_t **ranges,
    ngx_str_t *v, size_t skip)
{
    u_char                   *p, *last, *item, *dash;
    ngx_int_t                 low, high;
    ngx_http_outage_range_t  *range;

    if (*ranges) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": duplicate \"%*s\"",
                           skip, v->data);
        return NGX_CONF_ERROR;
    }

    *ranges = ngx_array_create(cf->pool, 2, sizeof(ngx_http_outage_range_t));
    if (*ranges == NULL) {
        return NGX_CONF_ERROR;
    }

    p = v->data + skip;
    last = v->data + v->len;

    if (p == last) {
        goto invalid;
    }

    while (p < last) {
        item = p;

        while (p < last && *p != ',') {
            p++;
        }

        dash = ngx_strlchr(item, p, '-');

        if (dash) {
            low = ngx_atoi(item, dash - item);
            high = ngx_atoi(dash + 1, p - dash - 1);

        } else {
            low = ngx_atoi(item, p - item);
            high = low;
        }

        if (low < 100 || high > 599 || low > high) {
            goto invalid;
        }

        range = ngx_array_push(*ranges);
        if (range == NULL) {
            return NGX_CONF_ERROR;
        }

        range->low = (ngx_uint_t) low;
        range->high = (ngx_uint_t) high;

        if (p < last) {
            p++;                                    /* the comma */

            if (p == last) {
                goto invalid;
            }
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_check\": invalid status range in \"%V\", "
                       "expected codes or ranges from 100 to 599 such as "
                       "\"%*s200-299,404\"", v, skip, v->data);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_outage_check_header(ngx_conf_t *cf, ngx_http_outage_check_conf_t *ck,
    ngx_str_t *v)
{
    u_char     *p, *last, *colon, *val;
    ngx_str_t  *h;

    p = v->data + 7;
    last = v->data + v->len;

    for (colon = p; colon < last; colon++) {
        if (*colon == CR || *colon == LF || *colon == '\0') {
            /* not echoed: the raw bytes would split the log line */
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_check\": CR, LF or NUL in a "
                               "\"header=\" value");
            return NGX_CONF_ERROR;
        }
    }

    colon = ngx_strlchr(p, last, ':');

    if (colon == NULL || colon == p
        || (size_t) (last - p) > NGX_HTTP_OUTAGE_HEADER_MAX)
    {
        goto invalid;
    }

    for ( /* void */ ; p < colon; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
        {
            goto invalid;
        }
    }

    val = colon + 1;

    while (val < last && (*val == ' ' || *val == '\t')) {
        val++;
    }

    if (ck->headers == NULL) {
        ck->headers = ngx_array_create(cf->pool, 2, sizeof(ngx_str_t));
        if (ck->headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    h = ngx_array_push(ck->headers);
    if (h == NULL) {
        return NGX_CONF_ERROR;
    }

    /* "Name: value"; "Name:" alone removes a header curl would send */

    h->len = (colon - (v->data + 7)) + 1 + (val < last ? 1 : 0)
             + (last - val);
    h->data = ngx_pnalloc(cf->pool, h->len + 1);
    if (h->data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(h->data, v->data + 7, colon - (v->data + 7) + 1);

    if (val < last) {
        *p++ = ' ';
        p = ngx_cpymem(p, val, last - val);
    }

    *p = '\0';

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_check\": invalid header in \"%V\", "
                       "expected \"header=Name:value\" with a token as name",
                       v);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_outage_check_count(ngx_conf_t *cf, ngx_str_t *v, size_t skip,
    ngx_uint_t *n)
{
    ngx_int_t  k;

    k = ngx_atoi(v->data + skip, v->len - skip);
    if (k < 1 || k > NGX_HTTP_OUTAGE_MAX_FALL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_check\": invalid count in \"%V\", "
                           "expected 1 to %d", v, NGX_HTTP_OUTAGE_MAX_FALL);
        return NGX_ERROR;
    }

    *n = (ngx_uint_t) k;

    return NGX_OK;
}


const char *
ngx_http_outage_health_error_name(ngx_uint_t kind)
{
    if (kind >= sizeof(ngx_http_outage_check_error_names)
                / sizeof(ngx_http_outage_check_error_names[0]))
    {
        return "other";
    }

    return ngx_http_outage_check_error_names[kind];
}


/*
 * Said here, not by the directive: whether the http{} block has a
 * "resolver" is known only once all of it is read.
 */

static void
ngx_http_outage_check_unresolved(ngx_conf_t *cf,
    ngx_http_outage_main_conf_t *omcf)
{
    ngx_uint_t                     i, resolver;
    ngx_conf_file_t                file, *saved;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_outage_check_conf_t  *ck;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    resolver = (clcf->resolver && clcf->resolver->connections.nelts);

    ck = omcf->checks.elts;

    saved = cf->conf_file;

    for (i = 0; i < omcf->checks.nelts; i++) {
        if (ck[i].host.len == 0 || ck[i].resolve.len || saved == NULL) {
            continue;
        }

        /* the file:line of the directive, not of the end of http{} */
        file = *saved;
        file.file.name = ck[i].conf_file;
        file.line = ck[i].conf_line;
        cf->conf_file = &file;

        if (resolver) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"outage_check\": host \"%V\" of \"%V\" does "
                               "not resolve now; the check reports \"cannot "
                               "resolve %V\" (kind dns) until the resolver "
                               "finds it, unless it had addresses before "
                               "this reload: it probes those meanwhile",
                               &ck[i].host, &ck[i].url, &ck[i].host);

        } else {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "\"outage_check\": host \"%V\" of \"%V\" does "
                               "not resolve now; the check reports \"cannot "
                               "resolve %V\" (kind dns) until a reload finds "
                               "it, unless it had addresses before this "
                               "reload: it probes those meanwhile; without an "
                               "http-level \"resolver\" a check's host name "
                               "is resolved only when the configuration is "
                               "read",
                               &ck[i].host, &ck[i].url, &ck[i].host);
        }

        cf->conf_file = saved;
    }
}


ngx_int_t
ngx_http_outage_health_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    /* without checks there is nothing to count failures against */
    if (omcf->checks.nelts == 0) {
        return NGX_OK;
    }

    ngx_http_outage_check_unresolved(cf, omcf);

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_outage_health_log_handler;

    return NGX_OK;
}


/* ---- per process -------------------------------------------------------- */

ngx_int_t
ngx_http_outage_health_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     i;
    ngx_msec_t                     min;
    ngx_http_conf_ctx_t           *ctx;
    ngx_core_conf_t               *ccf;
    ngx_http_outage_health_t      *h;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_outage_check_conf_t  *checks;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);

    if (omcf->checks.nelts == 0) {
        return NGX_OK;
    }

    h = &ngx_http_outage_health;
    ngx_memzero(h, sizeof(ngx_http_outage_health_t));

    h->omcf = omcf;
    h->log = cycle->log;
    h->nprobes = omcf->checks.nelts;

    /* the debug log reads ((ngx_connection_t *) ev->data)->fd */
    h->dummy.fd = (ngx_socket_t) -1;

    h->tick.handler = ngx_http_outage_health_tick;
    h->tick.data = &h->dummy;
    h->tick.log = cycle->log;
    h->tick.cancelable = 1;

    h->timer.handler = ngx_http_outage_health_timer;
    h->timer.data = &h->dummy;
    h->timer.log = cycle->log;
    h->timer.cancelable = 1;

    h->probes = ngx_pcalloc(cycle->pool,
                            h->nprobes * sizeof(ngx_http_outage_probe_t));
    if (h->probes == NULL) {
        return NGX_ERROR;
    }

    /* a transfer may try two addresses at once (happy eyeballs) */
    h->max_conns = 2 * h->nprobes + 4;
    h->conns = ngx_pcalloc(cycle->pool,
                           h->max_conns * sizeof(ngx_connection_t *));
    if (h->conns == NULL) {
        return NGX_ERROR;
    }

    h->inos = ngx_pcalloc(cycle->pool, h->max_conns * sizeof(ino_t));
    if (h->inos == NULL) {
        return NGX_ERROR;
    }

    /* the http{} level "resolver"; nginx makes a dummy one without it */
    ctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];
    clcf = ctx->loc_conf[ngx_http_core_module.ctx_index];

    if (clcf->resolver && clcf->resolver->connections.nelts) {
        h->resolver = clcf->resolver;
        h->resolver_timeout = clcf->resolver_timeout;
    }

    checks = omcf->checks.elts;
    min = checks[0].interval;

    for (i = 0; i < h->nprobes; i++) {
        h->probes[i].conf = &checks[i];
        h->probes[i].id = i;

        if (checks[i].interval < min) {
            min = checks[i].interval;
        }
    }

    /*
     * Every worker ticks: the owner to renew its lease and start probes,
     * the others to take over when the owner exits or stalls.
     */
    h->period = ngx_min(min, 1000);
    h->ttl = 3 * h->period + 500;
    h->swept = ngx_current_msec;

    for (i = 0; i < h->nprobes; i++) {
        h->stale_max = ngx_max(h->stale_max,
                               ngx_http_outage_health_limit(h, &checks[i]));
    }

    /* with timer_resolution, timers run up to that late every time */
    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    h->stall_slack = NGX_HTTP_OUTAGE_STALL + ccf->timer_resolution;

    /*
     * a stall can void only a probe in flight when it ended; none is left
     * past the longest timeout and the slack (review s11 R4 F4: kept for
     * good, a 32-bit clock's difference wrapped and voided again)
     */
    h->stall_keep = h->stall_slack + NGX_HTTP_OUTAGE_WATCHDOG;

    for (i = 0; i < h->nprobes; i++) {
        h->stall_keep = ngx_max(h->stall_keep, checks[i].timeout
                                               + h->stall_slack
                                               + NGX_HTTP_OUTAGE_WATCHDOG);
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        /* it still ticks: stale verdicts are its business too */
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "outage: curl_global_init() failed, health checks "
                      "do not run in this worker");

    } else {
        h->global = 1;
    }

    /* spread the workers' first attempts at the lease */
    ngx_add_timer(&h->tick, 1 + ngx_random() % 100);

    return NGX_OK;
}


void
ngx_http_outage_health_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                 i;
    ngx_http_outage_health_t  *h;

    h = &ngx_http_outage_health;

    if (h->omcf == NULL) {
        return;
    }

    if (h->tick.timer_set) {
        ngx_del_timer(&h->tick);
    }

    ngx_http_outage_health_abort(h);

    if (h->multi) {
        for (i = 0; i < h->nprobes; i++) {
            ngx_http_outage_health_release(&h->probes[i]);
        }

        /* closes the kept-alive sockets; curl reports those it watched */
        curl_multi_cleanup(h->multi);
        h->multi = NULL;
    }

    /*
     * Nothing may be left with curl's descriptor in it.  curl reports every
     * socket it closes, so this finds none; if it did, the socket may be
     * closed already: no epoll_ctl() on it.
     */
    while (h->nconns) {
        ngx_http_outage_health_forget(h, h->conns[h->nconns - 1],
                                      NGX_CLOSE_EVENT);
    }

    if (h->timer.timer_set) {
        ngx_del_timer(&h->timer);
    }

    if (h->owner) {
        ngx_http_outage_lease_release(&ngx_http_outage_shm()->health_lease);
        h->owner = 0;
    }

    if (h->global) {
        curl_global_cleanup();
        h->global = 0;
    }

    h->omcf = NULL;
}


/* ---- the schedule ------------------------------------------------------- */

static void
ngx_http_outage_health_tick(ngx_event_t *ev)
{
    ngx_msec_t                 now, delay;
    ngx_uint_t                 i;
    ngx_msec_int_t             d;
    ngx_http_outage_probe_t   *p;
    ngx_http_outage_health_t  *h;

    h = &ngx_http_outage_health;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_outage_health_abort(h);

        if (h->owner) {
            ngx_http_outage_lease_release(
                                      &ngx_http_outage_shm()->health_lease);
            h->owner = 0;
        }

        return;
    }

    ngx_http_outage_health_awake(h);
    ngx_http_outage_health_stale(h);

    if (!h->global
        || !ngx_http_outage_lease_take(&ngx_http_outage_shm()->health_lease,
                                       h->ttl, h->log,
                                       "runs the health checks"))
    {
        if (h->owner) {
            ngx_log_error(NGX_LOG_INFO, h->log, 0,
                          "outage: another worker runs the health checks "
                          "now");
            ngx_http_outage_health_abort(h);
            h->owner = 0;
        }

        ngx_add_timer(&h->tick, h->period);
        return;
    }

    now = ngx_current_msec;

    if (!h->owner) {
        if (h->multi == NULL && ngx_http_outage_health_start(h) != NGX_OK) {
            ngx_http_outage_lease_release(
                                      &ngx_http_outage_shm()->health_lease);
            ngx_add_timer(&h->tick, 10 * h->period);
            return;
        }

        h->owner = 1;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, h->log, 0,
                       "outage: worker runs %ui health checks", h->nprobes);

        /*
         * A random offset per check, so that checks do not march in step.
         * Intervals without a probe count from this tenure: another
         * worker may have probed since this one last held the lease, and
         * a respawned worker starts from none anyway (stale() bounds both)
         */
        for (i = 0; i < h->nprobes; i++) {
            p = &h->probes[i];
            p->next = now + ngx_random() % p->conf->interval;
            p->unprobed = 0;
        }

        /* the guard setting may have changed with a reload */
        ngx_http_outage_health_guard_check(h);
    }

    delay = h->period;

    for (i = 0; i < h->nprobes; i++) {
        p = &h->probes[i];

        /*
         * Passive detection asks for a probe now: the check goes down only
         * if it fails too.  Off the schedule, which stays as it is.
         */
        if (!p->in_flight && !p->resolving
            && ngx_http_outage_health_confirm_asked(p)
            && !ngx_http_outage_health_held_off(p))
        {
            p->scheduled = 0;
            ngx_http_outage_health_probe(h, p);
            p->confirming = (p->in_flight || p->resolving);
        }

        if (!p->in_flight && !p->resolving
            && (ngx_msec_int_t) (now - p->next) >= 0)
        {
            p->scheduled = 1;
            ngx_http_outage_health_probe(h, p);

            p->next += p->conf->interval;

            if ((ngx_msec_int_t) (now - p->next) >= 0) {
                p->next = now + p->conf->interval;   /* fell behind */
            }
        }

        if (p->in_flight || p->resolving) {
            /* curl's share of timeout= starts when it is handed over */
            d = (ngx_msec_int_t) ((p->in_flight ? p->sent : p->started)
                                  + p->conf->timeout
                                  + NGX_HTTP_OUTAGE_WATCHDOG - now);

            if (d <= 0) {
                ngx_http_outage_health_watchdog(h, p);

            } else if (d < (ngx_msec_int_t) delay) {
                delay = (ngx_msec_t) d;
            }
        }

        if (!p->in_flight && !p->resolving) {
            d = (ngx_msec_int_t) (p->next - now);
            if (d < (ngx_msec_int_t) delay) {
                delay = d > 0 ? (ngx_msec_t) d : 1;
            }
        }
    }

    ngx_add_timer(&h->tick, delay);
}


static ngx_uint_t
ngx_http_outage_health_confirm_asked(ngx_http_outage_probe_t *p)
{
    ngx_http_outage_shm_check_t  *sc;

    if (p->conf->slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK) {
        return 0;
    }

    sc = &ngx_http_outage_shm()->checks[p->conf->slot];

    /* read without the lock: a stale value costs one tick */
    return sc->confirm && sc->key == p->conf->key;
}


/*
 * A confirmation is asked at every tick until a probe answers it: while
 * the check's probes cannot start (set-up or curl refuses them) it is
 * tried once an interval, not at every tick.  The probes of the schedule
 * are never held off: they are the "retried every interval" the log
 * promises, and the intervals ngx_http_outage_health_unprobed() counts
 * (a tick runs late; the schedule does not drift with it).
 */

static ngx_uint_t
ngx_http_outage_health_held_off(ngx_http_outage_probe_t *p)
{
    return (p->setup_failed || p->start_failed)
           && ngx_current_msec - p->unstarted < p->conf->interval;
}


/* a probe finished when its next one was already due */

static void
ngx_http_outage_health_tick_soon(ngx_http_outage_health_t *h)
{
    if (h->tick.timer_set) {
        if ((ngx_msec_int_t) (h->tick.timer.key - ngx_current_msec) <= 1) {
            return;
        }

        ngx_del_timer(&h->tick);
    }

    ngx_add_timer(&h->tick, 1);
}


static ngx_int_t
ngx_http_outage_health_start(ngx_http_outage_health_t *h)
{
    /*
     * Only what every check shares: each check's own handle is set up by
     * its first probe (ngx_http_outage_health_setup()), so that one that
     * libcurl refuses stops that check alone.
     */
    h->multi = curl_multi_init();
    if (h->multi == NULL) {
        goto failed;
    }

    if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION,
                          ngx_http_outage_health_socket) != CURLM_OK
        || curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK
        || curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
                             ngx_http_outage_health_timer_set) != CURLM_OK
        || curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
    {
        goto failed;
    }

    if (h->init_failed) {
        ngx_log_error(NGX_LOG_NOTICE, h->log, 0,
                      "outage: libcurl is set up for the health checks "
                      "again");
        h->init_failed = 0;
    }

    return NGX_OK;

failed:

    if (!h->init_failed) {
        ngx_log_error(NGX_LOG_ERR, h->log, 0,
                      "outage: cannot set up libcurl's multi handle for the "
                      "health checks (out of memory?): no check probes, "
                      "retried every %M ms", 10 * h->period);
        h->init_failed = 1;
    }

    if (h->multi) {
        curl_multi_cleanup(h->multi);
        h->multi = NULL;
    }

    return NGX_ERROR;
}


/*
 * A check's handle, set up at its first probe and again at each probe
 * after a failure: one libcurl refuses (an option its build lacks, out of
 * memory) is that check's problem only.  Such a probe proves nothing
 * about the target: the check keeps its health and counts for "fall"
 * intervals, then is unknown; the status shows the reason (error_kind
 * "setup"), the log says it once, and the next probe of its interval
 * tries again.
 */

static ngx_int_t
ngx_http_outage_health_setup(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    u_char                        text[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                        len;
    ngx_str_t                    *scope;

    scope = &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope];
    p->errbuf[0] = '\0';

    if (ngx_http_outage_health_easy(h, p) == NGX_OK) {
        if (p->setup_failed) {
            ngx_log_error(NGX_LOG_NOTICE, h->log, 0,
                          "outage: check \"%V\" (#%ui): its probe is set "
                          "up again", scope, p->id);
            p->setup_failed = 0;
        }

        return NGX_OK;
    }

    ngx_http_outage_health_release(p);
    p->unstarted = ngx_current_msec;

    /* easy() names what libcurl refused; a list it could not grow: memory */
    len = ngx_snprintf(text, sizeof(text), "cannot set up the probe: %s",
                       p->errbuf[0] ? p->errbuf : "out of memory")
          - text;

    if (!p->setup_failed) {
        ngx_log_error(NGX_LOG_ERR, h->log, 0,
                      "outage: check \"%V\" (#%ui): %*s; the check is not "
                      "probed (its health is kept for \"fall\" intervals, "
                      "then unknown), the other checks go on, set-up "
                      "retried every %M ms", scope, p->id, len, text,
                      p->conf->interval);
        p->setup_failed = 1;
    }

    ngx_http_outage_health_unprobed(h, p, text, len);

    return NGX_ERROR;
}


/*
 * A probe that could not even start (its handle not set up, or refused by
 * curl_multi_add_handle(), both local: out of memory, a libcurl build
 * without a feature) proves nothing about the target: the status says why
 * (error_kind "setup"), nothing is counted.
 */

static void
ngx_http_outage_health_unprobed(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, u_char *text, size_t len)
{
    u_char                        tail[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                        tlen;
    ngx_str_t                    *scope;
    ngx_uint_t                    was, guard;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_shm_check_t  *sc;

    scope = &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope];

    /*
     * Intervals, not attempts: a confirming probe is one more attempt in
     * the same interval (and it may be tried at every tick)
     */
    if (p->scheduled) {
        p->unprobed++;
    }

    shm = ngx_http_outage_shm();
    was = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
    guard = 0;
    tlen = 0;

    ngx_http_outage_shm_lock();

    if (p->conf->slot != NGX_HTTP_OUTAGE_NO_SLOT_CHECK
        && ngx_http_outage_lease_holds_since(&shm->health_lease, p->epoch))
    {
        /*
         * for the status only: the guard reads the last probe's kind
         * (probe_error), and "last_checked" stays the last probe's
         */
        sc = &shm->checks[p->conf->slot];
        sc->last_error = NGX_HTTP_OUTAGE_CHECK_SETUP;
        ngx_memcpy(sc->last_error_text, text, len);
        sc->last_error_len = len;

        /*
         * A verdict nobody renews is not kept for good: after "fall"
         * intervals without a probe the check is unknown (neither up nor
         * down), as a new one, so that it neither hides an outage nor
         * pages one that ended.  A take-down by traffic alone is renewed
         * by the traffic that keeps failing the same way: counted from
         * the last such request, it ends as one by probes does.
         */
        if (p->unprobed >= p->conf->fall
            && !ngx_http_outage_health_renewed(sc, p->conf->fall
                                                   * p->conf->interval))
        {
            tlen = ngx_http_outage_health_renewed_text(sc, tail,
                                                       sizeof(tail));
            was = ngx_http_outage_health_unknown(h, sc, &guard);
        }
    }

    ngx_http_outage_shm_unlock();

    if (was != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN) {
        ngx_log_error(NGX_LOG_ERR, h->log, 0,
                      "outage: check \"%V\" (#%ui) is unknown: not probed "
                      "for %ui intervals (%*s)%*s, so its last verdict (%s) "
                      "no longer counts: it keeps its scope neither up nor "
                      "down", scope, p->id, p->unprobed, len, text, tlen,
                      tail,
                      was == NGX_HTTP_OUTAGE_HEALTH_DOWN ? "down" : "up");

        ngx_http_outage_health_guard_log(h->log, h->omcf, guard);
    }
}


/*
 * Under the lock: the check's verdict no longer counts, it is unknown as
 * a new check is.  Returns the health it had (UNKNOWN: nothing changed).
 */

static ngx_uint_t
ngx_http_outage_health_unknown(ngx_http_outage_health_t *h,
    ngx_http_outage_shm_check_t *sc, ngx_uint_t *guard)
{
    ngx_uint_t              was;
    ngx_http_outage_shm_t  *shm;

    was = sc->health;

    if (was == NGX_HTTP_OUTAGE_HEALTH_UNKNOWN) {
        return was;
    }

    shm = ngx_http_outage_shm();

    sc->health = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
    sc->since = ngx_time();
    sc->transitions++;
    sc->reason_len = 0;
    sc->fails = 0;
    sc->passes = 0;

    *guard = ngx_http_outage_health_guard(h->omcf, shm, NULL);
    ngx_http_outage_shm_bump(shm);

    return was;
}


/*
 * Every worker, once a period, prober or not: a verdict nobody renews
 * does not count for good.  A check with no probe result for fall + 1
 * intervals, its timeout, the watchdog and two lease take-overs (limit())
 * is unknown: the prober stalls or crashes again and again, or no worker
 * can run libcurl, and nobody took over.  Set-up failures make it unknown
 * sooner (unprobed()).
 *
 * Both waits are kept in the zone, not in the worker: the grace a
 * configuration's new prober has to probe afresh counts from the start of
 * that configuration's first worker, and the check's first sweep past the
 * limit is kept in its slot.  A prober that crashes at every probe has the
 * master respawn workers that are all younger than the limit: counted per
 * worker, neither wait ever ended, and a down verdict nobody verified
 * paged for good, with no line (audit s12 A4 F4).  A reload still gives
 * its prober the whole grace.  The zone is read without the lock; the
 * lock only when a check is found stale or no longer so.
 */

static void
ngx_http_outage_health_stale(ngx_http_outage_health_t *h)
{
    u_char                        text[NGX_HTTP_OUTAGE_ERR_MAX],
                                  tail[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                        len, tlen;
    ngx_str_t                    *scope;
    ngx_uint_t                    i, was, guard;
    ngx_msec_t                    now, limit, conf_age;
    ngx_msec_t                    last;
    ngx_http_outage_probe_t      *p;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_shm_check_t  *sc;

    now = ngx_current_msec;

    if (now - h->swept < h->period) {
        return;
    }

    h->swept = now;
    shm = ngx_http_outage_shm();

    /*
     * The newest configuration's start, whatever this worker's
     * configuration: that one's prober renews the verdicts.  An unsigned
     * age (msec_since()): where ngx_msec_t is 32 bits a signed one read a
     * start 24.8 days old as just now (review s11 R2 F2).  Once the grace
     * is over for every check it is not read again: that age wraps after
     * 49.7 days and would grant it once more.
     */
    conf_age = shm->conf_grace ? ngx_http_outage_msec_since(shm->conf_started)
                               : NGX_TIMER_INFINITE;

    if (shm->conf_grace && conf_age > h->stale_max
        && ngx_http_outage_shm_current())
    {
        ngx_http_outage_shm_lock();

        if (ngx_http_outage_shm_current()) {
            shm->conf_grace = 0;
        }

        ngx_http_outage_shm_unlock();
    }

    for (i = 0; i < h->nprobes; i++) {
        p = &h->probes[i];

        if (p->conf->slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK) {
            continue;
        }

        sc = &shm->checks[p->conf->slot];
        limit = ngx_http_outage_health_limit(h, p->conf);

        if (sc->key != p->conf->key) {
            continue;       /* another configuration's check now */
        }

        /*
         * msec_since(): sc->probed is the prober's cached clock, which may
         * be a little ahead of this worker's
         */
        if (sc->health == NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
            || conf_age <= limit
            || ngx_http_outage_msec_since(sc->probed) <= limit)
        {
            ngx_http_outage_health_unmark(sc, p->conf->key);
            continue;
        }

        if (ngx_http_outage_health_renewed(sc, limit)) {
            ngx_http_outage_health_unmark(sc, p->conf->key);

            /*
             * Kept by traffic: the status says that nobody probes it,
             * once (a probe result writes its own text)
             */
            if (sc->last_error != NGX_HTTP_OUTAGE_CHECK_SETUP) {
                ngx_http_outage_shm_lock();

                if (sc->key == p->conf->key) {
                    sc->last_error = NGX_HTTP_OUTAGE_CHECK_SETUP;
                    sc->last_error_len =
                        ngx_snprintf(sc->last_error_text,
                                     NGX_HTTP_OUTAGE_ERR_MAX,
                                     "not probed: no probe result for over "
                                     "%M ms; kept down by requests that "
                                     "still cannot reach its dependency",
                                     limit)
                        - sc->last_error_text;
                }

                ngx_http_outage_shm_unlock();
            }

            continue;
        }

        /*
         * Seen by a worker as nginx runs, not across a freeze of the whole
         * nginx (a paused container or VM): after one the prober, resumed
         * too, renews the verdict within an interval and its timeout.
         * Kept in the slot: a worker respawned meanwhile goes on from it.
         */
        if (!sc->stale || sc->stale_probed != sc->probed) {
            ngx_http_outage_shm_lock();

            if (sc->key == p->conf->key
                && (!sc->stale || sc->stale_probed != sc->probed))
            {
                sc->stale = 1;
                sc->stale_seen = now;
                sc->stale_probed = sc->probed;
            }

            ngx_http_outage_shm_unlock();
            continue;
        }

        if (ngx_http_outage_msec_since(sc->stale_seen)
            <= p->conf->interval + p->conf->timeout + NGX_HTTP_OUTAGE_WATCHDOG)
        {
            continue;
        }

        was = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
        guard = 0;
        tlen = 0;

        ngx_http_outage_shm_lock();

        last = ngx_http_outage_msec_since(sc->probed);

        if (sc->key == p->conf->key && sc->stale
            && sc->probed == sc->stale_probed
            && last > limit
            && !ngx_http_outage_health_renewed(sc, limit))
        {
            tlen = ngx_http_outage_health_renewed_text(sc, tail,
                                                       sizeof(tail));
            len = ngx_snprintf(text, sizeof(text), "not probed: no probe "
                               "result for %M ms%*s", last,
                               tlen, tail)
                  - text;

            sc->last_error = NGX_HTTP_OUTAGE_CHECK_SETUP;
            ngx_memcpy(sc->last_error_text, text, len);
            sc->last_error_len = len;
            sc->stale = 0;

            was = ngx_http_outage_health_unknown(h, sc, &guard);
        }

        ngx_http_outage_shm_unlock();

        if (was == NGX_HTTP_OUTAGE_HEALTH_UNKNOWN) {
            continue;
        }

        scope = &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope];

        ngx_log_error(NGX_LOG_ERR, h->log, 0,
                      "outage: check \"%V\" (#%ui) is unknown: no probe "
                      "result for %M ms (the prober stalls or crashes, or "
                      "cannot run libcurl: see the lines before)%*s, so its "
                      "last verdict (%s) no longer counts: it keeps its "
                      "scope neither up nor down", scope, p->id,
                      last, tlen, tail,
                      was == NGX_HTTP_OUTAGE_HEALTH_DOWN ? "down" : "up");

        ngx_http_outage_health_guard_log(h->log, h->omcf, guard);
    }
}


/*
 * How long a check may go without a probe result before stale() drops its
 * verdict: a new prober's random first offset and "fall" more intervals,
 * the last probe's timeout and the watchdog, and two lease take-overs.
 */

static ngx_msec_t
ngx_http_outage_health_limit(ngx_http_outage_health_t *h,
    ngx_http_outage_check_conf_t *ck)
{
    return (ck->fall + 1) * ck->interval + ck->timeout
           + NGX_HTTP_OUTAGE_WATCHDOG + 2 * h->ttl;
}


/* a check no longer overdue: the next time it is, its wait starts afresh */

static void
ngx_http_outage_health_unmark(ngx_http_outage_shm_check_t *sc, uint32_t key)
{
    /* read without the lock: set only while a check is overdue */
    if (!sc->stale) {
        return;
    }

    ngx_http_outage_shm_lock();

    if (sc->key == key) {
        sc->stale = 0;
    }

    ngx_http_outage_shm_unlock();
}


/*
 * A check down by traffic alone ("passive: ..." without a probe) was
 * taken down by requests that could not reach its own dependency, and
 * each such request since is that evidence again, as fresh as a failed
 * probe: such a verdict counts as renewed at the last of them, so that
 * it is not dropped while the prober cannot probe and customers' requests
 * keep failing.  An answer of the dependency ends that (renew() below):
 * the verdict is then only as fresh as its last probe.  Verdicts of the
 * probes (and those a probe confirmed) are renewed by probes only:
 * traffic that merely times out or gets garbage never pages on its own,
 * so it keeps nothing down either.  Read under the lock or not: a stale
 * value costs one sweep.
 */

static ngx_uint_t
ngx_http_outage_health_renewed(ngx_http_outage_shm_check_t *sc,
    ngx_msec_t limit)
{
    /*
     * msec_since(): another worker's cached clock may be a little ahead;
     * a signed age read 24.8 to 49.7 days as fresh where ngx_msec_t is 32
     * bits (review s11 R2 F2)
     */
    return sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
           && sc->renewed_seen
           && !ngx_http_outage_check_down_by_probe(sc->reason,
                                                   sc->reason_len)
           && ngx_http_outage_msec_since(sc->renewed) <= limit;
}


/*
 * What the lines that drop a take-down by traffic alone add, so that they
 * say why the traffic did not keep it: "; no request failed to reach it
 * for 5012 ms" or "; a request got an answer since".  Empty otherwise.
 */

static size_t
ngx_http_outage_health_renewed_text(ngx_http_outage_shm_check_t *sc,
    u_char *buf, size_t size)
{
    if (sc->health != NGX_HTTP_OUTAGE_HEALTH_DOWN
        || ngx_http_outage_check_down_by_probe(sc->reason, sc->reason_len))
    {
        return 0;
    }

    if (!sc->renewed_seen) {
        return ngx_snprintf(buf, size, "; taken down by traffic alone, "
                            "and a request got an answer of its dependency "
                            "since") - buf;
    }

    return ngx_snprintf(buf, size, "; taken down by traffic alone, and no "
                        "request failed to reach its dependency for %M ms",
                        ngx_http_outage_msec_since(sc->renewed))
           - buf;
}


/* what the check's handle holds; curl frees nothing of it on its own */

static void
ngx_http_outage_health_release(ngx_http_outage_probe_t *p)
{
    if (p->easy) {
        curl_easy_cleanup(p->easy);
        p->easy = NULL;
    }

    curl_slist_free_all(p->headers);
    curl_slist_free_all(p->resolve);
    p->headers = NULL;
    p->resolve = NULL;
}


/*
 * The keys of the addresses the next probe is handed (the CURLOPT_RESOLVE
 * entry now in use, or the URL's literal address), recorded with each
 * result for the guard: two checks are one target when they probe a
 * common address and port, however each is spelled and wherever its
 * addresses came from (configuration or nginx's resolver at run time).
 * A name with no address yet is its own key.
 */

static void
ngx_http_outage_health_keys(ngx_http_outage_probe_t *p)
{
    u_char     *a, *q, *last;
    size_t      len;
    in_port_t   port;
    ngx_str_t   host;

    p->nkeys = 0;

    ngx_http_outage_url_target(&p->conf->url, &host, &port);

    if (p->conf->host.len == 0 || p->resolve == NULL) {
        p->keys[p->nkeys++] = ngx_http_outage_check_key(host.data, host.len,
                                                        port);
        return;
    }

    q = ngx_http_outage_check_entry_addrs((u_char *) p->resolve->data, &len);

    if (q == NULL) {
        p->keys[p->nkeys++] = ngx_http_outage_check_key(host.data, host.len,
                                                        port);
        return;
    }

    last = q + len;

    for (a = q; q <= last && p->nkeys < NGX_HTTP_OUTAGE_CHECK_ADDRS; q++) {
        if (q == last || *q == ',') {
            if (q > a) {
                p->keys[p->nkeys++] = ngx_http_outage_check_key(a, q - a,
                                                                port);
            }

            a = q + 1;
        }
    }
}


/* the addresses of a CURLOPT_RESOLVE entry, past "host:port:" */

static u_char *
ngx_http_outage_check_entry_addrs(u_char *entry, size_t *len)
{
    u_char  *q, *last;

    last = entry + ngx_strlen(entry);
    q = ngx_strlchr(entry, last, ':');
    q = q ? ngx_strlchr(q + 1, last, ':') : NULL;

    if (q == NULL) {
        return NULL;
    }

    *len = last - (q + 1);

    return q + 1;
}


/*
 * Without "resolver" a check's host name is resolved only when the
 * configuration is read, and a reload that came during a DNS failure would
 * leave a check that had addresses with none until the next reload: its
 * probes would fail "cannot resolve" and page a healthy dependency.  The
 * addresses its probes were handed are kept in its slot (the same key:
 * the same URL, so the same host and port), and such a reload probes
 * those instead, saying so once.  A check that never had addresses (the
 * first start, a name gone before nginx started) has none kept and fails
 * "cannot resolve" as before.  With "resolver" they are the known
 * addresses a failing resolver does not take away (resolved()).
 */

static ngx_int_t
ngx_http_outage_health_kept(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    u_char                        *q, *last, buf[1536];
    size_t                         len;
    ngx_str_t                     *scope;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *ck;

    ck = p->conf;

    if (ck->slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK) {
        return NGX_OK;
    }

    sc = &ngx_http_outage_shm()->checks[ck->slot];

    last = buf + sizeof(buf) - 1;       /* room for the NUL */
    q = ngx_slprintf(buf, last, "%V:%d:", &ck->host, (int) ck->port);

    ngx_http_outage_shm_lock();

    len = sc->addrs_len;

    if (len > sizeof(sc->addrs) || len > (size_t) (last - q)) {
        len = 0;
    }

    ngx_memcpy(q, sc->addrs, len);

    ngx_http_outage_shm_unlock();

    if (len == 0) {
        return NGX_OK;
    }

    q[len] = '\0';

    p->resolve = curl_slist_append(NULL, (char *) buf);
    if (p->resolve == NULL) {
        return NGX_ERROR;
    }

    if (!p->kept_told) {
        p->kept_told = 1;
        scope = &((ngx_str_t *) h->omcf->scopes.elts)[ck->scope];

        ngx_log_error(NGX_LOG_WARN, h->log, 0,
                      "outage: check \"%V\" (#%ui): \"%V\" did not resolve "
                      "when the configuration was read; probing the "
                      "addresses the check had before: %*s",
                      scope, p->id, &ck->host, len, q);
    }

    return NGX_OK;
}


/* under the lock, with the result of the probe p (store()) */

static void
ngx_http_outage_health_keep(ngx_http_outage_shm_check_t *sc,
    ngx_http_outage_probe_t *p)
{
    u_char  *a;
    size_t   len;

    if (p->conf->host.len == 0 || p->resolve == NULL) {
        return;
    }

    a = ngx_http_outage_check_entry_addrs((u_char *) p->resolve->data, &len);

    if (a == NULL || len == 0 || len > sizeof(sc->addrs)
        || (sc->addrs_len == len && ngx_memcmp(sc->addrs, a, len) == 0))
    {
        return;
    }

    ngx_memcpy(sc->addrs, a, len);
    sc->addrs_len = len;
}


/*
 * One easy handle per check.  Every probe opens a new connection
 * (FRESH_CONNECT, FORBID_REUSE): it must judge what new traffic
 * experiences; an application whose accept loop died, or that ran out of
 * descriptors, still answers on a connection kept alive since before, and
 * a name moved by nginx's resolver is never judged by its old address.
 */

/*
 * The probes' mark, random per zone (a start of nginx; kept across
 * reloads): made once, under the lock, by the first prober.  It lets a
 * probe through the maintenance page of this nginx (page.c): a secret
 * of the probes and of what they reach, like a bypass cookie.
 */

static uint64_t
ngx_http_outage_health_nonce(void)
{
    uint64_t                v;
    ngx_uint_t              i;
    ngx_http_outage_shm_t  *shm;

    shm = ngx_http_outage_shm();

    ngx_http_outage_shm_lock();

    v = shm->probe_nonce;

    if (v == 0) {
#if (NGX_OPENSSL)
        if (RAND_bytes((u_char *) &v, sizeof(v)) != 1) {
            v = 0;
        }
#endif

        for (i = 0; i < 4; i++) {
            v ^= (uint64_t) ngx_random() << (16 * i);
        }

        v ^= (uint64_t) ngx_pid << 32 ^ (uint64_t) ngx_current_msec;
        v = v ? v : 1;
        shm->probe_nonce = v;
    }

    ngx_http_outage_shm_unlock();

    return v;
}


/*
 * Whether a request is a probe to let through the page: it carried
 * (page.c took it out of the request) this nginx's own mark, or the
 * fleet's (outage_probe_secret), and it is the request of a check whose
 * scope the location pages (that check's method, and its URL's path and
 * query byte for byte).  The mark reaches every probe target, so a leaked
 * one lets a request past the page only where a probe would go (a
 * "/health"), never to the rest of the site.  Read on a paged request
 * only, never on the way of the others.
 */

ngx_uint_t
ngx_http_outage_health_probe_request(ngx_http_request_t *r, uint64_t mark)
{
    ngx_http_outage_loc_conf_t  *olcf;

    olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);

    if (olcf->page_scopes == NULL) {
        return 0;
    }

    return ngx_http_outage_health_probe_of(r, mark, olcf->page_scopes);
}


/*
 * Whether a request is a probe of any check of this nginx, wherever it
 * is: $outage_probe, which must follow the probe to the location that
 * caches (a named one after try_files, one that does not page).  A leaked
 * mark lets a client past the cache of a check's own URL only.
 */

ngx_uint_t
ngx_http_outage_health_probe_any(ngx_http_request_t *r, uint64_t mark)
{
    return ngx_http_outage_health_probe_of(r, mark, NULL);
}


/* scopes NULL: a check of any scope */

static ngx_uint_t
ngx_http_outage_health_probe_of(ngx_http_request_t *r, uint64_t mark,
    ngx_array_t *scopes)
{
    ngx_uint_t                     i, j, *ids;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_main_conf_t   *omcf;
    ngx_http_outage_check_conf_t  *ck;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    shm = ngx_http_outage_shm();

    if (mark == 0
        || (mark != omcf->probe_mark
            && (shm == NULL || mark != shm->probe_nonce)))
    {
        return 0;
    }

    ids = scopes ? scopes->elts : NULL;
    ck = omcf->checks.elts;

    for (i = 0; i < omcf->checks.nelts; i++) {
        if (scopes) {
            for (j = 0; j < scopes->nelts; j++) {
                if (ids[j] == ck[i].scope) {
                    break;
                }
            }

            if (j == scopes->nelts) {
                continue;
            }
        }

        if (r->method_name.len != ck[i].method.len
            || ngx_strncmp(r->method_name.data, ck[i].method.data,
                           ck[i].method.len) != 0)
        {
            continue;
        }

        if (r->unparsed_uri.len == ck[i].sent.len
            && ngx_strncmp(r->unparsed_uri.data, ck[i].sent.data,
                           ck[i].sent.len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Whether a probe was answered by the maintenance page of an nginx running
 * this module (X-Outage-Page: paged, page.c) rather than by what the check
 * watches: another member of a fleet behind the check's name, whose page
 * did not take this mark, or a location of this nginx that pages another
 * scope.  That page is the other module's verdict, not the application's.
 */

static ngx_uint_t
ngx_http_outage_health_page_answered(ngx_http_outage_probe_t *p)
{
#if (LIBCURL_VERSION_NUM >= 0x075400)
    struct curl_header  *hh;

    if (curl_easy_header(p->easy, "X-Outage-Page", 0, CURLH_HEADER, -1, &hh)
        == CURLHE_OK
        && ngx_strcmp(hh->value, "paged") == 0)
    {
        return 1;
    }
#endif

    return 0;
}


/*
 * Such an answer is the other module's verdict on the scope, not the
 * application's.  While the check is up (or unknown) and no probe reached
 * what the check watches for 4 x fall x interval (the zone keeps when one
 * last did, so a reload or a prober's takeover does not forget it), it counts
 * as a failure: a member that paged first is evidence of an outage, which
 * must not be hidden from this one (a load balancer with source affinity
 * sends every probe there).  Direct evidence within that time outweighs
 * it: behind a load balancer that spreads the probes, a member that cannot
 * reach the application must not make this one page on and off while its
 * own probes pass.  While the check is down it is not counted:
 * counting it would hold a fleet down for good once its members paged
 * (each probe answered by another's page), so the check stays down until
 * a probe reaches the application.  Returns whether the probe is counted;
 * the log says what happened, once a minute.
 */

static ngx_uint_t
ngx_http_outage_health_foreign(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    time_t                        now;
    ngx_str_t                    *scope;
    ngx_uint_t                    down, hearsay;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_shm_check_t  *sc;

    shm = ngx_http_outage_shm();
    sc = &shm->checks[p->conf->slot];

    ngx_http_outage_shm_lock();

    /* a late result, or a slot another check has now: store() drops it */
    if (p->conf->slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK
        || !ngx_http_outage_lease_holds_since(&shm->health_lease, p->epoch))
    {
        ngx_http_outage_shm_unlock();
        return 1;
    }

    sc->page_answers++;

    /*
     * the prober probes and the rule below holds the verdict: not one
     * that nobody renews (ngx_http_outage_health_stale())
     */
    sc->probed = ngx_current_msec;

    down = (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN);
    /* signed: another process's cached clock may be a little ahead */
    hearsay = !down
              && (!sc->direct_seen
                  || (ngx_msec_int_t) (ngx_current_msec - sc->direct)
                     > (ngx_msec_int_t) (4 * p->conf->fall
                                         * p->conf->interval));

    if (!hearsay) {
        /* not counted: no verdict, and a confirmation asked ends here */
        sc->confirm = 0;
        p->confirming = 0;
    }

    ngx_http_outage_shm_unlock();

    now = ngx_time();

    if (now - p->foreign_told >= 60) {
        p->foreign_told = now;
        scope = &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope];

        ngx_log_error(NGX_LOG_WARN, h->log, 0,
                      "outage: check \"%V\" (#%ui): a probe was answered by "
                      "an outage page (another member of the fleet?): set "
                      "outage_probe_secret%s; %s",
                      scope, p->id,
                      h->omcf->probe_mark
                          ? " (the same file on every member), or probe a "
                            "URL whose location pages the check's scope"
                          : "",
                      hearsay ? "counted as a failure (that page is evidence "
                                "of an outage) while the check is up and no "
                                "probe reaches the application"
                      : down ? "not counted while the check is down: it "
                               "stays down until a probe reaches the "
                               "application"
                             : "not counted: other probes reach the "
                               "application");
    }

    return hearsay;
}


static ngx_int_t
ngx_http_outage_health_easy(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    CURL                          *e;
    u_char                         mark[sizeof("X-Outage-Probe: ")
                                        + 2 * sizeof(uint64_t)];
    ngx_str_t                     *hdr;
    ngx_uint_t                     i, bad;
    struct curl_slist             *l;
#if (LIBCURL_VERSION_NUM >= 0x074d00)
    struct curl_blob               ca;
#endif
    ngx_http_outage_check_conf_t  *ck;

    ck = p->conf;

    if (ck->match_regex_text.len && p->body == NULL) {
        p->body = ngx_palloc(ngx_cycle->pool, NGX_HTTP_OUTAGE_BODY_CAP);
        if (p->body == NULL) {
            return NGX_ERROR;
        }
    }

    /*
     * The probes' mark: a check whose URL reaches this nginx itself (the
     * site's public name, its own listen address) must judge the backend,
     * not the maintenance page this nginx serves once the scope is down
     * (it would never come up again), nor the page of a maintenance
     * declared in Redis (it would stay down "by health" after it).  A
     * fleet's mark (outage_probe_secret) passes every member's page.
     */
    ngx_snprintf(mark, sizeof(mark), "X-Outage-Probe: %016uxL%Z",
                 h->omcf->probe_mark ? h->omcf->probe_mark
                                     : ngx_http_outage_health_nonce());

    l = curl_slist_append(p->headers, (char *) mark);
    if (l == NULL) {
        return NGX_ERROR;
    }

    p->headers = l;

    if (ck->headers) {
        hdr = ck->headers->elts;

        for (i = 0; i < ck->headers->nelts; i++) {
            l = curl_slist_append(p->headers, (char *) hdr[i].data);
            if (l == NULL) {
                return NGX_ERROR;
            }

            p->headers = l;
        }
    }

    if (ck->resolve.len) {
        p->resolve = curl_slist_append(NULL, (char *) ck->resolve.data);
        if (p->resolve == NULL) {
            return NGX_ERROR;
        }

    } else if (ck->host.len && ngx_http_outage_health_kept(h, p) != NGX_OK) {
        return NGX_ERROR;
    }

    e = curl_easy_init();
    if (e == NULL) {
        ngx_cpystrn((u_char *) p->errbuf, (u_char *) "curl_easy_init() failed",
                    CURL_ERROR_SIZE);
        return NGX_ERROR;
    }

    p->easy = e;

    bad = 0;

    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_URL, (char *) ck->url.data);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_PRIVATE, p);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /*
     * curl 7.88 gives each address of a name its slice of the connect
     * timeout and moves on only when the slice ends, refused or not: ending
     * the connect phase before the whole timeout lets it say "refused"
     * when every address refused, rather than "timed out"
     */
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                       (long) (ck->timeout
                                               - ck->timeout / 10));
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                                       (long) ck->timeout);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_WRITEFUNCTION,
                                       ngx_http_outage_health_write);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_USERAGENT,
                                       "ngx_outage_module health check");

    /* the environment's http_proxy must not redirect the probes */
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_PROXY, "");

#if (LIBCURL_VERSION_NUM >= 0x075500)
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                                       (long) (CURLPROTO_HTTP
                                               |CURLPROTO_HTTPS));
#endif

    if (p->headers) {
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
    }

    if (p->resolve) {
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_RESOLVE, p->resolve);
    }

    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    bad = bad ? bad : curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);

    /* as proxy_ssl_verify off: neither the chain nor the name */
    if (!ck->tls_verify) {
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);

    } else if (ck->tls_trusted.len) {
#if (LIBCURL_VERSION_NUM >= 0x074d00)
        /* these CAs instead of the system's, as proxy_ssl_trusted_... */
        ca.data = ck->tls_trusted.data;
        ca.len = ck->tls_trusted.len;
        ca.flags = CURL_BLOB_NOCOPY;    /* the cycle's, as ck */

        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_CAINFO, (char *) NULL);
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_CAPATH, (char *) NULL);
#endif
    }

    ngx_http_outage_health_keys(p);

    if (ngx_strcmp(ck->method.data, "HEAD") == 0) {
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_NOBODY, 1L);

    } else if (ngx_strcmp(ck->method.data, "POST") == 0) {
        /* an empty body with "Content-Length: 0" */
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);

    } else if (ngx_strcmp(ck->method.data, "GET") != 0) {
        bad = bad ? bad : curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                                           (char *) ck->method.data);
    }

    /* the first option refused: its reason is the status' (setup()) */
    if (bad) {
        ngx_cpystrn((u_char *) p->errbuf,
                    (u_char *) curl_easy_strerror((CURLcode) bad),
                    CURL_ERROR_SIZE);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_outage_health_probe(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    p->received = 0;
    p->body_len = 0;
    p->tail_len = 0;
    p->found = 0;
    p->capped = 0;
    p->errbuf[0] = '\0';
    p->started = ngx_current_msec;
    p->epoch = ngx_http_outage_lease_epoch(
                                      &ngx_http_outage_shm()->health_lease);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "outage: check #%ui probe of \"%V\"", p->id, &p->conf->url);

    if (p->easy == NULL && ngx_http_outage_health_setup(h, p) != NGX_OK) {
        return;
    }

    if (p->conf->host.len == 0) {
        ngx_http_outage_health_transfer(h, p);
        return;
    }

    if (h->resolver
        && (p->dns_every == 0
            || ngx_current_msec - p->dns_asked >= p->dns_every))
    {
        /* nginx's resolver answers from its cache while the TTL lasts */
        ngx_http_outage_health_resolve(h, p);
        return;
    }

    /*
     * A resolver that failed is not asked at every probe (nginx logs each
     * of its failures): the addresses known meanwhile, if any
     */
    if (h->resolver && p->resolve == NULL) {
        ngx_http_outage_health_dns_failed(h, p,
                                          ngx_resolver_strerror(p->dns_told));
        return;
    }

    if (p->resolve == NULL) {
        ngx_http_outage_health_dns_failed(h, p,
                                  "not found when the configuration was read");
        return;
    }

    ngx_http_outage_health_transfer(h, p);
}


/*
 * The first probe of a check with no result yet is handed to curl: until
 * its result (at most its timeout and the watchdog) the guard counts the
 * check's target as on its way, not as left out (count()): that keeps a
 * guard that holds (a reload adding a check while every probe fails), but
 * never sets one, since a probe in flight is no evidence of a failure.
 * Once per slot: a check whose probes never give a result
 * (every answer an outage page) must not hold another target's outage
 * back for more than that one probe.  Read without the lock first: only a
 * check with no result at all takes it.
 */

static void
ngx_http_outage_health_first_sent(ngx_http_outage_probe_t *p)
{
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_shm_check_t  *sc;

    if (p->conf->slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK) {
        return;
    }

    shm = ngx_http_outage_shm();
    sc = &shm->checks[p->conf->slot];

    if (sc->first_sent || sc->health != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
        || sc->fails || sc->passes)
    {
        return;
    }

    ngx_http_outage_shm_lock();

    if (sc->key == p->conf->key
        && sc->first_sent == 0
        && sc->health == NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
        && sc->fails == 0 && sc->passes == 0
        && ngx_http_outage_lease_holds_since(&shm->health_lease, p->epoch))
    {
        sc->first_sent = ngx_current_msec;
    }

    ngx_http_outage_shm_unlock();
}


/*
 * A host name is resolved through nginx's resolver before every probe (its
 * cache keeps an answer for its TTL, or "valid="), never by curl: curl's
 * own resolver blocks or runs threads.
 */

static void
ngx_http_outage_health_resolve(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    ngx_resolver_ctx_t  *ctx, temp;

    temp.name = p->conf->host;

    ctx = ngx_resolve_start(h->resolver, &temp);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        goto failed;
    }

    ctx->name = p->conf->host;
    ctx->handler = ngx_http_outage_health_resolved;
    ctx->data = p;
    ctx->cancelable = 1;

    /*
     * A probe lasts at most its timeout=, the resolution included: the
     * resolver gets half of it (or resolver_timeout, if shorter) and the
     * transfer the rest, at least the other half.  A slow resolver never
     * holds the probes up for resolver_timeout (30 s by default): with
     * addresses known they are probed after that wait, else the probe
     * fails with kind "dns" (nginx goes on asking, and a later probe finds
     * the answer in its cache).
     */
    ctx->timeout = ngx_min(h->resolver_timeout,
                           ngx_max(p->conf->timeout / 2, 1));

    p->rctx = ctx;
    p->resolving = 1;

    /* a cached answer calls resolved() before this returns */
    if (ngx_resolve_name(ctx) == NGX_OK) {
        return;
    }

    /* nginx freed ctx */
    p->rctx = NULL;
    p->resolving = 0;

failed:

    if (p->resolve) {
        ngx_http_outage_health_transfer(h, p);     /* the address known */
        return;
    }

    ngx_http_outage_health_dns_failed(h, p, "cannot start resolving");
}


static void
ngx_http_outage_health_resolved(ngx_resolver_ctx_t *ctx)
{
    u_char                     buf[1536];
    size_t                     len;
    ngx_int_t                  state;
    ngx_str_t                 *scope;
    struct curl_slist         *l;
    ngx_http_outage_probe_t   *p;
    ngx_http_outage_health_t  *h;

    p = ctx->data;
    h = &ngx_http_outage_health;

    p->rctx = NULL;
    p->resolving = 0;

    state = ctx->state;

    if (state == NGX_OK && ctx->naddrs == 0) {
        state = NGX_RESOLVE_NXDOMAIN;       /* a name without an address */
    }

    len = 0;

    if (state == NGX_OK) {
        len = ngx_http_outage_check_resolve_entry(buf, sizeof(buf),
                                                  &p->conf->host,
                                                  p->conf->port,
                                                  (u_char *) ctx->addrs,
                                                  sizeof(ngx_resolver_addr_t),
                                                  ctx->naddrs);
    }

    ngx_resolve_name_done(ctx);

    if (ngx_exiting || ngx_quit || ngx_terminate || h->omcf == NULL
        || h->multi == NULL || !h->owner)
    {
        return;
    }

    scope = &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope];

    if (len) {
        if (p->resolve == NULL || ngx_strcmp(p->resolve->data, buf) != 0) {
            l = curl_slist_append(NULL, (char *) buf);

            if (l && curl_easy_setopt(p->easy, CURLOPT_RESOLVE, l)
                     == CURLE_OK)
            {
                /* curl took the old list's entries at its last transfer */
                curl_slist_free_all(p->resolve);
                p->resolve = l;
                ngx_http_outage_health_keys(p);

                ngx_log_error(NGX_LOG_INFO, h->log, 0,
                              "outage: check \"%V\" (#%ui): %s",
                              scope, p->id, buf);

            } else {
                curl_slist_free_all(l);
                (void) curl_easy_setopt(p->easy, CURLOPT_RESOLVE, p->resolve);
            }
        }

        p->dns_every = 0;

        if (p->dns_told) {
            ngx_log_error(NGX_LOG_NOTICE, h->log, 0,
                          "outage: check \"%V\" (#%ui): \"%V\" resolves "
                          "again", scope, p->id, &p->conf->host);
            p->dns_told = 0;
        }

        if (p->resolve) {
            ngx_http_outage_health_transfer(h, p);
            return;
        }

        ngx_http_outage_health_dns_failed(h, p, "out of memory");
        return;
    }

    /*
     * With addresses known (found when the configuration was read, or by
     * an earlier answer), no resolver failure fails the probe, not even
     * "no such name": nginx's resolver reads neither /etc/hosts nor search
     * domains, so it denies names such as "localhost" that the system
     * found.  The known addresses are probed, and the resolver is asked
     * again after 2 s, 4 s...  A name that never resolved fails the probe.
     */

    if (state != NGX_RESOLVE_NXDOMAIN || p->resolve) {
        p->dns_asked = ngx_current_msec;
        p->dns_every = p->dns_every
                       ? ngx_min(2 * p->dns_every,
                                 NGX_HTTP_OUTAGE_DNS_RETRY_MAX)
                       : NGX_HTTP_OUTAGE_DNS_RETRY_MIN;

    } else {
        p->dns_every = 0;   /* nginx keeps "no such name" for valid= */
    }

    if (p->resolve) {
        if (p->dns_told != state) {
            ngx_log_error(NGX_LOG_WARN, h->log, 0,
                          "outage: check \"%V\" (#%ui): cannot resolve "
                          "\"%V\": %s; probing the addresses known before",
                          scope, p->id, &p->conf->host,
                          ngx_resolver_strerror(state));
            p->dns_told = state;
        }

        ngx_http_outage_health_transfer(h, p);
        return;
    }

    p->dns_told = state;

    ngx_http_outage_health_dns_failed(h, p, ngx_resolver_strerror(state));
}


/* a probe that cannot even start for lack of an address: kind "dns" */

static void
ngx_http_outage_health_dns_failed(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, const char *why)
{
    ngx_http_outage_result_t  res;

    ngx_memzero(&res, sizeof(ngx_http_outage_result_t));

    res.kind = NGX_HTTP_OUTAGE_CHECK_DNS;
    res.latency = ngx_current_msec - p->started;
    res.len = ngx_snprintf(res.text, sizeof(res.text),
                           "cannot resolve %V: %s", &p->conf->host, why)
              - res.text;
    res.detail = NULL;

    ngx_http_outage_health_store(h, p, &res);
}


static void
ngx_http_outage_health_transfer(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    long        left;
    u_char      text[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t      len;
    CURLMcode   rc;

    /*
     * What the resolution left of timeout=, at least half of it (the
     * resolver's share is half: only a stalled worker spends more).
     */
    left = (long) p->conf->timeout
           - (long) (ngx_msec_int_t) (ngx_current_msec - p->started);
    left = ngx_max(left, (long) ngx_max(p->conf->timeout / 2, 1));

    /* a tenth kept for the request, as in health_easy() */
    (void) curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS,
                            ngx_max(left - left / 10, 1));
    (void) curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, left);

    rc = curl_multi_add_handle(h->multi, p->easy);

    if (rc == CURLM_OK) {
        p->in_flight = 1;
        p->sent = ngx_current_msec;
        p->start_failed = 0;
        p->unprobed = 0;
        ngx_http_outage_health_first_sent(p);
        return;
    }

    /* no evidence, as a set-up failure; logged once until a probe starts */

    p->unstarted = ngx_current_msec;

    if (!p->start_failed) {
        ngx_log_error(NGX_LOG_ERR, h->log, 0,
                      "outage: check \"%V\" (#%ui): cannot start a probe: %s",
                      &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope],
                      p->id, curl_multi_strerror(rc));
        p->start_failed = 1;
    }

    len = ngx_snprintf(text, sizeof(text), "cannot start a probe: %s",
                       curl_multi_strerror(rc))
          - text;

    ngx_http_outage_health_unprobed(h, p, text, len);
}


/*
 * curl's own timeout ends every transfer; should curl or the socket glue
 * ever lose track of one (no socket, no timer left), the check would be
 * frozen at its last health for good.  Removing the transfer makes curl
 * release its sockets, as in abort().
 */

static void
ngx_http_outage_health_watchdog(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p)
{
    ngx_http_outage_result_t  res;

    if (p->resolving) {
        /*
         * nginx's resolver times its request out after the probe's share
         * (resolve() above); should it not, the check is not frozen
         * either: the known addresses are probed, or the probe fails.
         */
        if (!p->stuck_told) {
            ngx_log_error(NGX_LOG_WARN, h->log, 0,
                          "outage: check \"%V\" (#%ui): the resolution of "
                          "\"%V\" was still running %M ms after the probe's "
                          "timeout; aborted",
                          &((ngx_str_t *) h->omcf->scopes.elts)
                                                            [p->conf->scope],
                          p->id, &p->conf->host, (ngx_msec_t)
                          NGX_HTTP_OUTAGE_WATCHDOG);
            p->stuck_told = 1;
        }

        if (p->rctx) {
            ngx_resolve_name_done(p->rctx);
            p->rctx = NULL;
        }

        p->resolving = 0;

        if (p->resolve) {
            ngx_http_outage_health_transfer(h, p);
            return;
        }

        ngx_http_outage_health_dns_failed(h, p, "Operation timed out");
        return;
    }

    if (!p->stuck_told) {
        ngx_log_error(NGX_LOG_WARN, h->log, 0,
                      "outage: check \"%V\" (#%ui): the probe of \"%V\" "
                      "was still running %M ms after its timeout; aborted "
                      "and counted as timed out",
                      &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope],
                      p->id, &p->conf->url, (ngx_msec_t)
                      NGX_HTTP_OUTAGE_WATCHDOG);
        p->stuck_told = 1;
    }

    curl_multi_remove_handle(h->multi, p->easy);
    p->in_flight = 0;

    /* the tick that calls this saw whether it ran late (a stall) */
    if (ngx_http_outage_health_stall_voids(h, p, 0)) {
        return;
    }

    p->voided = 0;

    ngx_memzero(&res, sizeof(ngx_http_outage_result_t));
    res.kind = NGX_HTTP_OUTAGE_CHECK_TIMEOUT;
    res.latency = ngx_current_msec - p->started;
    res.len = ngx_snprintf(res.text, sizeof(res.text),
                           "timed out after %M ms", p->conf->timeout)
              - res.text;

    ngx_http_outage_health_store(h, p, &res);
}


/* removing the transfers makes curl release their sockets */

static void
ngx_http_outage_health_abort(ngx_http_outage_health_t *h)
{
    ngx_uint_t                i;
    ngx_http_outage_probe_t  *p;

    for (i = 0; i < h->nprobes; i++) {
        p = &h->probes[i];

        if (p->in_flight) {
            curl_multi_remove_handle(h->multi, p->easy);
            p->in_flight = 0;
        }

        /* the zone's request stays: the next lease holder probes for it */
        p->confirming = 0;

        if (p->rctx) {
            ngx_resolve_name_done(p->rctx);
            p->rctx = NULL;
        }

        p->resolving = 0;
    }

    if (h->timer.timer_set) {
        ngx_del_timer(&h->timer);
    }
}


/*
 * A stall of this worker's event loop (SIGSTOP, a blocking read, CPU
 * starvation, a paused VM) is seen when the loop resumes: a timer of the
 * prober still waits well past its time.  Called before curl runs: nginx
 * handles I/O before timers, and curl checks a transfer's timeout before
 * it reads, so an answer that came during the stall is never read and the
 * transfer is said to have timed out.  (A timer that fired has lost its
 * time: the rbtree zeroes the key; a late curl timer is seen by the
 * transfer's own length, stall_voids().)
 */

static void
ngx_http_outage_health_awake(ngx_http_outage_health_t *h)
{
    ngx_msec_int_t  late, t;

    late = 0;

    if (h->stalled
        && (ngx_msec_int_t) (ngx_current_msec - h->resumed)
           > (ngx_msec_int_t) h->stall_keep)
    {
        h->stalled = 0;
    }

    if (h->tick.timer_set) {
        t = (ngx_msec_int_t) (ngx_current_msec - h->tick.timer.key);
        late = ngx_max(late, t);
    }

    if (h->timer.timer_set) {
        t = (ngx_msec_int_t) (ngx_current_msec - h->timer.timer.key);
        late = ngx_max(late, t);
    }

    if (late > (ngx_msec_int_t) h->stall_slack) {
        h->stalled = 1;
        h->resumed = ngx_current_msec;
        h->late = (ngx_msec_t) late;
    }
}


/*
 * A timeout of a transfer during which this worker's loop stalled says
 * nothing of the target (its answer may be waiting unread): it is not
 * counted and the check is probed again at once.  Once in a row: should
 * every probe meet a stall, the next timeout counts, so that a hanging
 * target still goes down after fall timeouts.  A transfer that curl ended
 * far past timeout= is a stall too: curl's timer ran that late.
 */

static ngx_uint_t
ngx_http_outage_health_stall_voids(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, ngx_uint_t by_curl)
{
    ngx_uint_t              level, holds;
    ngx_msec_t              deadline;
    curl_off_t              us;
    ngx_msec_int_t          took;
    ngx_http_outage_shm_t  *shm;

    took = (ngx_msec_int_t) (ngx_current_msec - p->sent);

    /*
     * curl's own clock: a stall inside a handler (curl itself included)
     * leaves nginx's cached time behind
     */
    us = 0;

    if (by_curl
        && curl_easy_getinfo(p->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK
        && us / 1000 > took)
    {
        took = (ngx_msec_int_t) (us / 1000);
    }

    if (by_curl
        && took > (ngx_msec_int_t) (p->conf->timeout + h->stall_slack))
    {
        if (!h->stalled || h->resumed != ngx_current_msec) {
            h->late = 0;    /* not the stall awake() saw just now */
        }

        h->stalled = 1;
        h->resumed = ngx_current_msec;
        h->late = ngx_max(h->late, (ngx_msec_t) took - p->conf->timeout);
    }

    /*
     * Only a stall the probe's deadline fell into: one that ended before
     * it left the probe its whole time to be answered, one that began
     * after it found the probe already late (review s11 R4 F3: a stall
     * early in a long probe voided a hanging target's timeout)
     */
    deadline = p->sent + p->conf->timeout;

    if (p->voided || !h->stalled
        || (ngx_msec_int_t) (h->resumed - deadline) < 0
        || (ngx_msec_int_t) (deadline - (h->resumed - h->late
                                         - h->stall_slack)) < 0)
    {
        return 0;
    }

    /* a stall past the lease: store() drops the result as late, counted */
    shm = ngx_http_outage_shm();

    ngx_http_outage_shm_lock();
    holds = ngx_http_outage_lease_holds_since(&shm->health_lease, p->epoch);
    ngx_http_outage_shm_unlock();

    if (!holds) {
        return 0;
    }

    p->voided = 1;
    p->next = ngx_current_msec;

    /* the zone's confirmation request stays: the next probe answers it */
    p->confirming = 0;

    /* one warning per stall, however many probes it voided */
    level = NGX_LOG_INFO;

    if (!h->stall_said || h->stall_told != h->resumed) {
        h->stall_said = 1;
        h->stall_told = h->resumed;
        level = NGX_LOG_WARN;
    }

    ngx_log_error(level, h->log, 0,
                  "outage: check \"%V\" (#%ui): a probe timed out %M ms "
                  "after it started while this worker's event loop stalled "
                  "(its timers ran %M ms late): not counted, probed again "
                  "now",
                  &((ngx_str_t *) h->omcf->scopes.elts)[p->conf->scope],
                  p->id, (ngx_msec_t) took, h->late);

    return 1;
}


/* ---- results ------------------------------------------------------------ */

/*
 * " to /login" for a failed redirect: where it leads is the best hint of
 * what broke (a login wall, an error page), but status and logs show no
 * addresses or credentials, so only the path is named, without query or
 * fragment (tokens travel there), and another origin only as such.
 */

static u_char *
ngx_http_outage_health_location(u_char *t, u_char *last, char *here,
    char *there)
{
    size_t   n, m;
    u_char  *path, *end, *c;

    c = (u_char *) ngx_strstr(there, "://");
    if (c == NULL) {
        return t;
    }

    /*
     * The authority ends at the first '/', '?' or '#' (RFC 3986, 3.2), but
     * curl passes on a Location with a '/' in its userinfo as it came
     * ("user:se/cret@host/p"): so whatever is before the last '@' ahead of
     * the query is never named, and the path starts after the host.
     */
    c += 3;
    end = c + strcspn((char *) c, "?#");

    for (path = end; path > c && path[-1] != '@'; path--) { /* void */ }

    end = path + strcspn((char *) path, "/?#");
    path = (*end == '/') ? end : NULL;
    n = end - (u_char *) there;

    /* scheme and authority compared as bytes: "same origin" or not */
    m = 0;
    c = here ? (u_char *) ngx_strstr(here, "://") : NULL;

    if (c) {
        m = (c + 3 + strcspn((char *) c + 3, "/?#")) - (u_char *) here;
    }

    t = ngx_slprintf(t, last, " to %s",
                     (m == n && ngx_strncasecmp((u_char *) here,
                                                (u_char *) there, n) == 0)
                     ? "" : "another origin, ");

    if (path == NULL) {
        return ngx_slprintf(t, last, "/");
    }

    /* an '@' in a path may be a credential pasted there: not named */
    for (end = path; *end && *end != '?' && *end != '#'
                     && end - path < 64; end++)
    {
        if (*end <= 0x20 || *end >= 0x7f || *end == '"' || *end == '\\'
            || *end == '@')
        {
            break;
        }
    }

    return ngx_slprintf(t, last, "%*s%s", (size_t) (end - path), path,
                        (*end && *end != '?' && *end != '#') ? "..." : "");
}


static void
ngx_http_outage_health_done(ngx_http_outage_health_t *h)
{
    int                        left;
    CURL                      *e;
    CURLMsg                   *msg;
    CURLcode                   code;
    ngx_http_outage_probe_t   *p;
    ngx_http_outage_result_t   res;

    while (h->multi && (msg = curl_multi_info_read(h->multi, &left))) {

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        e = msg->easy_handle;
        code = msg->data.result;
        p = NULL;

        (void) curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **) &p);

        if (p == NULL || !p->in_flight) {
            curl_multi_remove_handle(h->multi, e);
            continue;
        }

        ngx_memzero(&res, sizeof(ngx_http_outage_result_t));
        ngx_http_outage_health_judge(p, code, &res);

        /* msg is invalid from here on */
        curl_multi_remove_handle(h->multi, e);
        p->in_flight = 0;

        if (code == CURLE_OPERATION_TIMEDOUT
            && ngx_http_outage_health_stall_voids(h, p, 1))
        {
            ngx_http_outage_health_tick_soon(h);
            continue;
        }

        p->voided = 0;
        res.direct = !res.foreign;

        if (!res.foreign || ngx_http_outage_health_foreign(h, p)) {
            ngx_http_outage_health_store(h, p, &res);
        }

        if ((ngx_msec_int_t) (ngx_current_msec - p->next) >= 0) {
            ngx_http_outage_health_tick_soon(h);
        }
    }
}


static void
ngx_http_outage_health_judge(ngx_http_outage_probe_t *p, CURLcode code,
    ngx_http_outage_result_t *res)
{
    int                            rc;
    char                          *here, *there;
    long                           status, oserr;
#if (NGX_OPENSSL)
    long                           vr;
#endif
    u_char                        *t, *last, err[64];
    ngx_str_t                      body;
    ngx_uint_t                     i;
    curl_off_t                     us;
    ngx_http_outage_range_t       *range;
    ngx_http_outage_check_conf_t  *ck;

    ck = p->conf;
    t = res->text;
    last = res->text + sizeof(res->text);

    status = 0;
    (void) curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
    res->status = status > 0 ? (ngx_uint_t) status : 0;

    if (curl_easy_getinfo(p->easy, CURLINFO_TOTAL_TIME_T, &us) == CURLE_OK
        && us > 0)
    {
        /* and the wait for the resolver, which curl does not see */
        res->latency = (ngx_msec_t) (us / 1000) + (p->sent - p->started);

    } else {
        res->latency = ngx_current_msec - p->started;
    }

    /* our write callback stopped the body at the cap: that is no error */
    if (code == CURLE_WRITE_ERROR && p->capped) {
        code = CURLE_OK;
    }

    /* curl's message names the host and port: for error.log only */
    res->detail = (code != CURLE_OK && p->errbuf[0]) ? p->errbuf : NULL;

    switch (code) {

    case CURLE_OK:
        break;

    case CURLE_OPERATION_TIMEDOUT:
        res->kind = NGX_HTTP_OUTAGE_CHECK_TIMEOUT;

        /*
         * Connected (and through TLS) with the request on its way: the
         * application was reached and did not answer in time, which is
         * its own verdict, not a sign of the prober's network.
         */
        us = 0;
        res->reached =
            curl_easy_getinfo(p->easy, CURLINFO_PRETRANSFER_TIME_T, &us)
                == CURLE_OK
            && us > 0;
        t = ngx_slprintf(t, last, "timed out after %M ms", ck->timeout);
        goto done;

    case CURLE_COULDNT_CONNECT:
        res->kind = NGX_HTTP_OUTAGE_CHECK_REFUSED;
        oserr = 0;
        (void) curl_easy_getinfo(p->easy, CURLINFO_OS_ERRNO, &oserr);

        if (oserr == ECONNREFUSED || oserr == 0) {
            t = ngx_slprintf(t, last, "connection refused");

        } else {
            *ngx_strerror((ngx_err_t) oserr, err, sizeof(err) - 1) = '\0';
            t = ngx_slprintf(t, last, "cannot connect: %s", err);
        }

        goto done;

    case CURLE_COULDNT_RESOLVE_HOST:
        res->kind = NGX_HTTP_OUTAGE_CHECK_DNS;
        t = ngx_slprintf(t, last, "cannot resolve the host");
        goto done;

    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
#if (LIBCURL_VERSION_NUM >= 0x074d00)
    case CURLE_SSL_CLIENTCERT:      /* curl 7.77 */
#endif
    case CURLE_USE_SSL_FAILED:
        res->kind = NGX_HTTP_OUTAGE_CHECK_TLS;

#if (NGX_OPENSSL)
        /*
         * Why the certificate was refused ("certificate has expired"):
         * OpenSSL's verification result, which curl keeps when its TLS
         * is OpenSSL; its message names the host, this one does not.
         */
        vr = X509_V_OK;

        if (code == CURLE_PEER_FAILED_VERIFICATION
            && ngx_strncmp(curl_version_info(CURLVERSION_NOW)->ssl_version,
                           "OpenSSL/", 8) == 0
            && curl_easy_getinfo(p->easy, CURLINFO_SSL_VERIFYRESULT, &vr)
               == CURLE_OK
            && vr != X509_V_OK)
        {
            t = ngx_slprintf(t, last, "TLS: %s",
                             X509_verify_cert_error_string(vr));
            goto done;
        }
#endif

        t = ngx_slprintf(t, last, "TLS: %s", curl_easy_strerror(code));
        goto done;

    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        res->kind = NGX_HTTP_OUTAGE_CHECK_RESET;
        t = ngx_slprintf(t, last, "connection reset: %s",
                         curl_easy_strerror(code));
        goto done;

    case CURLE_GOT_NOTHING:
        res->kind = NGX_HTTP_OUTAGE_CHECK_RESET;
        t = ngx_slprintf(t, last, "connection closed without a response");
        goto done;

    case CURLE_PARTIAL_FILE:
        res->kind = NGX_HTTP_OUTAGE_CHECK_RESET;
        t = ngx_slprintf(t, last, "response cut short after %uz body bytes",
                         p->received);
        goto done;

    default:
        /* curl's static description of the code, never its message */
        res->kind = NGX_HTTP_OUTAGE_CHECK_OTHER;
        t = ngx_slprintf(t, last, "%s", curl_easy_strerror(code));
        goto done;
    }

    if (ngx_http_outage_health_page_answered(p)) {
        res->foreign = 1;
        res->kind = NGX_HTTP_OUTAGE_CHECK_STATUS;
        t = ngx_slprintf(t, last, "HTTP %ui from an outage page",
                         res->status);
        goto done;
    }

    /*
     * Redirects are not followed, so a 3xx is judged by "status=", except a
     * redirect to the probed URL itself: that target can never answer, so
     * it fails as "status" whatever the list says.
     */
    here = NULL;
    there = NULL;

    if (res->status >= 300 && res->status <= 399) {
        (void) curl_easy_getinfo(p->easy, CURLINFO_EFFECTIVE_URL, &here);
        (void) curl_easy_getinfo(p->easy, CURLINFO_REDIRECT_URL, &there);

        if (here && there && ngx_strcmp(here, there) == 0) {
            res->kind = NGX_HTTP_OUTAGE_CHECK_STATUS;
            t = ngx_slprintf(t, last, "HTTP %ui redirects to itself",
                             res->status);
            goto done;
        }
    }

    range = ck->status->elts;

    for (i = 0; i < ck->status->nelts; i++) {
        if (res->status >= range[i].low && res->status <= range[i].high) {
            break;
        }
    }

    if (i == ck->status->nelts) {
        res->kind = NGX_HTTP_OUTAGE_CHECK_STATUS;
        t = ngx_slprintf(t, last, "HTTP %ui", res->status);

        if (res->status >= 300 && res->status <= 399 && there) {
            t = ngx_http_outage_health_location(t, last, here, there);
        }

        goto done;
    }

    if (ck->match.len && !p->found) {
        res->kind = NGX_HTTP_OUTAGE_CHECK_BODY;
        t = ngx_slprintf(t, last, "body does not contain \"%V\"%s",
                         &ck->match,
                         p->capped ? " in its first 64 KB" : "");
        goto done;
    }

#if (NGX_PCRE)
    if (ck->match_regex) {
        body.data = p->body;
        body.len = p->body_len;

        rc = ngx_regex_exec(ck->match_regex, &body, NULL, 0);

        if (rc < 0) {
            res->kind = NGX_HTTP_OUTAGE_CHECK_BODY;

            if (rc == NGX_REGEX_NO_MATCHED) {
                t = ngx_slprintf(t, last, "body does not match \"%V\"%s",
                                 &ck->match_regex_text,
                                 p->capped ? " in its first 64 KB" : "");

            } else {
                t = ngx_slprintf(t, last, "regex error %d on the body", rc);
            }

            goto done;
        }
    }
#else
    (void) rc;
    (void) body;
#endif

    res->kind = NGX_HTTP_OUTAGE_CHECK_OK;

done:

    res->len = t - res->text;

    /* the configuration's text (match=): one printable line */
    for (t = res->text; t < res->text + res->len; t++) {
        if (*t < 0x20 || *t >= 0x7f) {
            *t = '?';
        }
    }
}


/*
 * A scope's "ok" in Redis (or a degraded incident with "checks silenced")
 * silences its checks (the operator's word wins):
 * their transitions are still said, at warn, with what silences them, so
 * that a forgotten override does not hide a real failure without a trace.
 * An "ok" the decision ignores (Redis stale, or not configured, or its
 * window not open) silences nothing: the log is at error as for any
 * take-down.
 */

#define NGX_HTTP_OUTAGE_SILENCED                                            \
    "; silenced: Redis says \"ok\" for this scope (or \"checks silenced\" "  \
    "with a degraded banner), no page until that key is deleted or expires"


/* under the lock; the decision's own rule (decision.c) */

static ngx_uint_t
ngx_http_outage_health_silenced(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_uint_t scope, time_t now)
{
    return ngx_http_outage_redis_silences(omcf, shm,
               &shm->scopes[ngx_http_outage_scope_slot(scope)].redis, now);
}


/*
 * Under the lock: counters, fall/rise, the guard; only while this worker
 * still holds the lease (it may have stalled past it while another worker
 * probed).  The generation moves only when a decision can change: a check
 * goes down or comes back from down, or the guard flips.  Logging happens
 * after the lock is released, one line per transition.
 */

static void
ngx_http_outage_health_store(ngx_http_outage_health_t *h,
    ngx_http_outage_probe_t *p, ngx_http_outage_result_t *res)
{
    u_char                         buf[CURL_ERROR_SIZE];
    u_char                         passive[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                         detail, plen;
    time_t                         now, was_since;
    ngx_str_t                     *scope;
    ngx_uint_t                     became, fails, guard, was_down, silenced,
                                   level, confirming, confirmed, told,
                                   held;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *ck;

    ck = p->conf;
    shm = ngx_http_outage_shm();
    sc = &shm->checks[ck->slot];
    now = ngx_time();
    became = NGX_HTTP_OUTAGE_HEALTH_UNKNOWN;
    scope = &((ngx_str_t *) h->omcf->scopes.elts)[ck->scope];
    confirming = p->confirming;
    p->confirming = 0;
    confirmed = 0;
    told = 0;
    plen = 0;

    ngx_http_outage_shm_lock();

    if (!ngx_http_outage_lease_holds_since(&shm->health_lease, p->epoch)
        || ck->slot == NGX_HTTP_OUTAGE_NO_SLOT_CHECK)
    {
        shm->health_dropped++;
        ngx_http_outage_shm_unlock();

        ngx_log_error(NGX_LOG_NOTICE, h->log, 0,
                      "outage: dropped a late probe result of check \"%V\" "
                      "(#%ui): this worker lost the health lease while it "
                      "waited (it stalled, or a reload retired it)",
                      scope, p->id);
        return;
    }

    was_since = sc->since;
    was_down = (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN);

    /* the addresses this probe was handed: the guard's target */
    if (sc->ntargets != p->nkeys
        || ngx_memcmp(sc->targets, p->keys, p->nkeys * sizeof(uint64_t)) != 0)
    {
        ngx_memcpy(sc->targets, p->keys, p->nkeys * sizeof(uint64_t));
        sc->ntargets = p->nkeys;
        ngx_http_outage_health_regroup(h->omcf, shm);
    }

    ngx_http_outage_health_keep(sc, p);

    sc->probes++;
    sc->last_checked = now;
    sc->probed = ngx_current_msec;

    if (res->direct) {
        sc->direct = ngx_current_msec;
        sc->direct_seen = 1;
    }
    sc->last_latency = res->latency;
    sc->latency_sum += res->latency;
    sc->last_status = res->status;
    sc->last_error = res->kind;
    sc->probe_error = res->kind;
    sc->last_reached = res->reached;

    if (res->kind == NGX_HTTP_OUTAGE_CHECK_OK) {
        sc->passes++;
        sc->fails = 0;
        sc->last_error_len = 0;

        /* a new check is up on its first success; a down one needs rise */
        if (sc->health == NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
            || (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
                && sc->passes >= ck->rise))
        {
            became = NGX_HTTP_OUTAGE_HEALTH_UP;
        }

    } else {
        sc->fails++;
        sc->passes = 0;
        sc->failures++;

        ngx_memcpy(sc->last_error_text, res->text, res->len);
        sc->last_error_len = res->len;

        if (sc->health != NGX_HTTP_OUTAGE_HEALTH_DOWN
            && sc->fails >= ck->fall)
        {
            became = NGX_HTTP_OUTAGE_HEALTH_DOWN;
        }
    }

    /*
     * The probe passive detection asked for.  A failure does not bypass
     * "fall" (a mildly flaky /health plus a slow URL anyone can hit would
     * page on demand): the request stays, so the prober probes again at
     * each tick until "fall" failures in a row take the check down with the
     * passive evidence in its reason, or a probe passes.  A passing probe
     * outweighs the traffic (one slow URL, an error_page chain, an
     * attacker), and the passive streak has already started again.
     * A regular probe in flight when the request came (not the confirming
     * one: it started before) whose failure makes "fall" answers the
     * request too: the reason carries the passive evidence, whichever
     * probe made "fall", and no request is left pending on a down check
     * (its next "confirming" probe would come a tick after the take-down).
     */
    if (sc->confirm && sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
        sc->confirm = 0;        /* a down check confirms nothing */

    } else if (sc->confirm
               && (confirming || became == NGX_HTTP_OUTAGE_HEALTH_DOWN))
    {
        plen = ngx_min(sc->confirm_len, sizeof(passive));
        ngx_memcpy(passive, sc->confirm_text, plen);

        if (res->kind != NGX_HTTP_OUTAGE_CHECK_OK) {
            if (became == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
                sc->confirm = 0;
                confirmed = 1;
            }

        } else {
            sc->confirm = 0;

            if (now - sc->confirm_told >= 60) {
                sc->confirm_told = now;
                told = 1;
            }
        }
    }

    if (became != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN) {
        if (sc->health != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN) {
            sc->transitions++;
        }

        sc->health = became;
        sc->since = now;

        if (became != NGX_HTTP_OUTAGE_HEALTH_DOWN) {
            sc->reason_len = 0;
        }
    }

    if (confirmed) {
        sc->reason_len = ngx_snprintf(sc->reason, NGX_HTTP_OUTAGE_ERR_MAX,
                                      "passive: %*s; check: %*s", plen,
                                      passive, res->len, res->text)
                         - sc->reason;
        sc->passive.streak = 0;

    } else if (became == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
        sc->reason_len = ngx_http_outage_health_reason(sc->reason, "check",
                                                       res->text, res->len);
    }

    fails = sc->fails;

    silenced = ngx_http_outage_health_silenced(h->omcf, shm, ck->scope, now);

    guard = ngx_http_outage_health_guard(h->omcf, shm, NULL);

    held = (shm->guard_state == NGX_HTTP_OUTAGE_GUARD_HOLDING
            && ngx_http_outage_health_held(sc));

    if (guard
        || was_down != (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN))
    {
        ngx_http_outage_shm_bump(shm);
    }

    ngx_http_outage_shm_unlock();

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "outage: check #%ui probe: %s \"%*s\" in %M ms",
                   p->id, ngx_http_outage_health_error_name(res->kind),
                   res->len, res->text, res->latency);

    if (became == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
        detail = 0;

        if (res->detail) {
            detail = ngx_http_outage_log_escape_cut(buf, sizeof(buf),
                                                    (u_char *) res->detail,
                                                    ngx_strlen(res->detail));
        }

        level = (silenced || held) ? NGX_LOG_WARN : NGX_LOG_ERR;

        if (confirmed) {
            ngx_log_error(level, h->log, 0,
                          "outage: check \"%V\" (#%ui) is down: passive: "
                          "%*s; check: %*s (passive failures confirmed by "
                          "a probe)%s%*s%s%s",
                          scope, p->id, plen, passive, res->len, res->text,
                          detail ? "; curl: " : "", detail, buf,
                          silenced ? NGX_HTTP_OUTAGE_SILENCED : "",
                          held ? NGX_HTTP_OUTAGE_HELD : "");

        } else {
            ngx_log_error(level, h->log, 0,
                          "outage: check \"%V\" (#%ui) is down: check: %*s "
                          "(%ui failures)%s%*s%s%s",
                          scope, p->id, res->len, res->text, fails,
                          detail ? "; curl: " : "", detail, buf,
                          silenced ? NGX_HTTP_OUTAGE_SILENCED : "",
                          held ? NGX_HTTP_OUTAGE_HELD : "");
        }

    } else if (became == NGX_HTTP_OUTAGE_HEALTH_UP) {
        if (was_since) {
            level = silenced ? NGX_LOG_WARN : NGX_LOG_NOTICE;

            ngx_log_error(level, h->log, 0,
                          "outage: check \"%V\" (#%ui) is up again after "
                          "%T s%s", scope, p->id, now - was_since,
                          silenced ? NGX_HTTP_OUTAGE_SILENCED : "");

        } else {
            ngx_log_error(NGX_LOG_INFO, h->log, 0,
                          "outage: check \"%V\" (#%ui) is up", scope, p->id);
        }
    }

    if (told) {
        ngx_log_error(NGX_LOG_WARN, h->log, 0,
                      "outage: check \"%V\" (#%ui): passive failures were "
                      "seen (%*s) but the probe passes: not taken down, "
                      "passive detection starts a new streak (said at most "
                      "once a minute)",
                      scope, p->id, plen, passive);
    }

    ngx_http_outage_health_guard_log(h->log, h->omcf, guard);
}


/*
 * The scope's "reason": who took the check down ("check" or "passive") and
 * the sanitised text of the evidence.  Written once, at the transition, so
 * that the probes passing while a check waits for "rise" do not erase it.
 */

static size_t
ngx_http_outage_health_reason(u_char *dst, const char *source, u_char *text,
    size_t len)
{
    return ngx_snprintf(dst, NGX_HTTP_OUTAGE_ERR_MAX, "%s: %*s", source, len,
                        text)
           - dst;
}


/*
 * The guard's targets, with the lock held, whenever the addresses of a
 * check change (and when a prober takes the lease): two checks are one
 * target when they probe a common address and port (keys recorded with
 * their last probe), transitively, so that "localhost" and "127.0.0.1",
 * or a name and one of its addresses, are one target.  Each check's
 * "target" is the index of the first check of its group.  O(n^2) key
 * comparisons, only on a change; the guard itself is then O(n).
 */

static void
ngx_http_outage_health_regroup(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm)
{
    ngx_uint_t                     i, j, a, b, ri, rj, n,
                                   root[NGX_HTTP_OUTAGE_MAX_CHECKS];
    ngx_http_outage_shm_check_t   *si, *sj;
    ngx_http_outage_check_conf_t  *checks;

    checks = omcf->checks.elts;
    n = ngx_min(omcf->checks.nelts, NGX_HTTP_OUTAGE_MAX_CHECKS);

    for (i = 0; i < n; i++) {
        root[i] = i;
        si = &shm->checks[checks[i].slot];

        for (j = 0; j < i; j++) {
            sj = &shm->checks[checks[j].slot];

            for (a = 0; a < si->ntargets; a++) {
                for (b = 0; b < sj->ntargets; b++) {
                    if (si->targets[a] == sj->targets[b]) {
                        goto same;
                    }
                }
            }

            continue;

        same:

            for (ri = i; root[ri] != ri; ri = root[ri]) { /* void */ }
            for (rj = j; root[rj] != rj; rj = root[rj]) { /* void */ }

            /* the lower index is the root: the first check of the group */
            if (ri < rj) {
                root[rj] = ri;

            } else {
                root[ri] = rj;
            }
        }
    }

    for (i = 0; i < n; i++) {
        for (ri = i; root[ri] != ri; ri = root[ri]) { /* void */ }
        shm->checks[checks[i].slot].target = ri;
    }
}


/*
 * The distinct targets of regroup()'s groups, counted in one pass (see
 * ngx_http_outage_guard_count_t).  Failing: a check down by its probes
 * (one such check is enough).  Traffic: of the failing targets, those
 * where real traffic from this nginx could not reach a check that is down
 * by that traffic alone while its own probes fail too: whichever was
 * noticed first, the target is dead from here as well, not only from the
 * prober; the witness is the first such check (the status and the log name
 * it).
 * Known, so counted: a verdict, or a last probe answered by the
 * application.
 * One check down by its probes is enough for a failing target, even
 * while another check of it passes (audit s12 A4 F5, not taken: a pass of
 * a slow check is as old as its interval, and one unauthenticated check
 * per box would keep the guard off for good after a token rotation, every
 * authenticated scope paged: review s12 R7 F1, F2).
 * Pending: no verdict yet (a check a reload added, every check at a start)
 * but probes that failed already, not "fall" times yet: evidence like a
 * failing verdict, so that a start does not page the fastest checks'
 * scopes while the slower ones count their "fall".
 * Sent: no result at all, but the first probe is on its way (first_sent(),
 * its result due within its timeout and the watchdog), not in ntargets.
 * That is no evidence of a failure: guard() lets it keep a guard that
 * holds (a reload adding a check while every probe fails), and leaves it
 * out while the guard is off (review s11 R2 F1, s12 R1 G1).
 * None: no probe result and none on its way: left out (it cannot hold
 * back a real outage of another target until its first probe, at a random
 * offset within its interval); the guard's reason says how many.
 * A check whose probes fail (probes_fail()) in a scope Redis decides is
 * no evidence either: "ok" (the operator declared its failing /health
 * irrelevant), or a maintenance or "down" in its window (its application
 * stopped for the maintenance fails its probes, as declared).  A target
 * whose only failing checks are such is left out, so that it does not
 * turn one real outage elsewhere into "everything" (audit s12 A4 F2).
 * An incident only announced for later decides nothing: its check pages,
 * and counts.  Once explained, a check stays out until its probes stop
 * failing ("explained"), also after the incident's window ends or its key
 * is deleted: a maintenance that overran with the application still
 * stopped is that same failure, not the prober's network breaking.
 * Not an incident that starts deciding while the guard holds (explains()):
 * silencing a check, or declaring its scope down or in maintenance, while
 * every probe fails (the on-call acting on what the status shows) must not
 * turn the guard off and page the others.
 * A check whose last probe reached the application (a status other than
 * 401, 403 or 407, a body that does not match, or no answer in time to a
 * request sent) has a verdict about the application, not about the
 * prober's network: its target never counts as failing for the guard,
 * whose premise that verdict disproves.
 * A "target" index out of range (a slot not regrouped since a reload) is
 * taken as a target of its own.
 */

/*
 * first_sent is within "window" of now, on either side (another process
 * stored it with its own cached clock).  Both bounds: first_sent is never
 * cleared, and where ngx_msec_t is 32 bits a one-sided signed test reads
 * it as just sent again from 24.8 to 49.7 days later (review s11 R2 F2).
 * count() also requires that no result has come in (probes == 0), so this
 * bound only matters for a first probe whose result never landed.
 */

static ngx_uint_t
ngx_http_outage_health_just_sent(ngx_msec_t first_sent, ngx_msec_t window)
{
    ngx_msec_int_t  d;

    d = (ngx_msec_int_t) (ngx_current_msec - first_sent);

    return d <= (ngx_msec_int_t) window && d >= -(ngx_msec_int_t) window;
}


/* what count() knows of a target, from its checks */
#define NGX_HTTP_OUTAGE_TARGET_SEEN      0x01
#define NGX_HTTP_OUTAGE_TARGET_KNOWN     0x02
#define NGX_HTTP_OUTAGE_TARGET_SILENCED  0x04
#define NGX_HTTP_OUTAGE_TARGET_TRIED     0x08   /* failing probes */
#define NGX_HTTP_OUTAGE_TARGET_SENT      0x10   /* first probe on its way */
#define NGX_HTTP_OUTAGE_TARGET_FAILING   0x20
#define NGX_HTTP_OUTAGE_TARGET_DECLARED  0x40   /* Redis decides */
#define NGX_HTTP_OUTAGE_TARGET_OVER      0x80   /* Redis decided */


/*
 * The check's probes fail as count() reads them: down by its probes, or
 * failing on the way to "fall" with no verdict yet; never when its last
 * probe was answered by the application (a verdict about the application,
 * which disproves the guard's premise).
 */

static ngx_uint_t
ngx_http_outage_health_probes_fail(ngx_http_outage_shm_check_t *sc)
{
    if (ngx_http_outage_health_answered(sc)) {
        return 0;
    }

    if (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
        return ngx_http_outage_check_down_by_probe(sc->reason,
                                                   sc->reason_len);
    }

    return sc->health == NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
           && sc->passes == 0 && sc->fails > 0;
}

/*
 * The scope's Redis incident explains its check's failing probes: it
 * decides the scope now, and the guard is off.  Never while the guard
 * holds: the on-call acting on what the status shows (silencing a check,
 * adding "checks silenced" to a degraded incident, declaring a
 * maintenance) must not turn the guard off and page the others; no time
 * of the incident tells such an act from an incident older than the
 * guard (redis_since moves with the state only: review s12 R6 G2).
 */

static ngx_uint_t
ngx_http_outage_health_explains(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_uint_t scope, time_t now)
{
    ngx_http_outage_shm_scope_t   *ss;

    if (shm->guard_active) {
        return 0;
    }

    ss = &shm->scopes[ngx_http_outage_scope_slot(scope)];

    return ngx_http_outage_redis_decides(omcf, shm, &ss->redis, now);
}


static void
ngx_http_outage_health_count(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_guard_count_t *c)
{
    ngx_uint_t                     f, seen[NGX_HTTP_OUTAGE_MAX_CHECKS];
    ngx_uint_t                     traffic[NGX_HTTP_OUTAGE_MAX_CHECKS];
    time_t                         now;
    ngx_uint_t                     i, t, n;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_shm_scope_t   *ss;
    ngx_http_outage_check_conf_t  *checks;

    checks = omcf->checks.elts;
    n = ngx_min(omcf->checks.nelts, NGX_HTTP_OUTAGE_MAX_CHECKS);
    now = ngx_time();

    ngx_memzero(c, sizeof(ngx_http_outage_guard_count_t));
    ngx_memzero(seen, n * sizeof(ngx_uint_t));
    ngx_memzero(traffic, n * sizeof(ngx_uint_t));

    for (i = 0; i < n; i++) {
        sc = &shm->checks[checks[i].slot];
        t = sc->target < n ? sc->target : i;

        seen[t] |= NGX_HTTP_OUTAGE_TARGET_SEEN;

        if (!ngx_http_outage_health_probes_fail(sc)) {
            sc->explained = 0;

        } else if (!sc->explained
                   && ngx_http_outage_health_explains(omcf, shm,
                                                      checks[i].scope, now))
        {
            sc->explained = 1;
        }

        if (sc->explained) {
            ss = &shm->scopes[ngx_http_outage_scope_slot(checks[i].scope)];

            seen[t] |= ngx_http_outage_health_silenced(omcf, shm,
                                                       checks[i].scope, now)
                       ? NGX_HTTP_OUTAGE_TARGET_SILENCED
                       : ngx_http_outage_redis_decides(omcf, shm, &ss->redis,
                                                       now)
                         ? NGX_HTTP_OUTAGE_TARGET_DECLARED
                         : NGX_HTTP_OUTAGE_TARGET_OVER;
            continue;
        }

        if (sc->health != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN
            || ngx_http_outage_health_answered(sc))
        {
            seen[t] |= NGX_HTTP_OUTAGE_TARGET_KNOWN;

        } else if (sc->fails > 0) {
            seen[t] |= NGX_HTTP_OUTAGE_TARGET_TRIED;

        } else if (sc->probes == 0 && sc->first_sent
                   && ngx_http_outage_health_just_sent(sc->first_sent,
                          checks[i].timeout + NGX_HTTP_OUTAGE_WATCHDOG))
        {
            seen[t] |= NGX_HTTP_OUTAGE_TARGET_SENT;
        }

        if (sc->health != NGX_HTTP_OUTAGE_HEALTH_DOWN) {
            continue;
        }

        if (ngx_http_outage_check_down_by_probe(sc->reason, sc->reason_len)
            && !ngx_http_outage_health_answered(sc))
        {
            seen[t] |= NGX_HTTP_OUTAGE_TARGET_FAILING;

        } else if (sc->fails > 0 && !traffic[t]) {
            traffic[t] = i + 1;
        }
    }

    for (t = 0; t < n; t++) {
        f = seen[t];

        if (!(f & NGX_HTTP_OUTAGE_TARGET_SEEN)) {
            continue;
        }

        if (f & NGX_HTTP_OUTAGE_TARGET_FAILING) {
            c->nfailing++;

            if (traffic[t] && c->ntraffic++ == 0) {
                c->witness = traffic[t] - 1;
            }
        }

        if (f & NGX_HTTP_OUTAGE_TARGET_KNOWN) {
            c->ntargets++;

        } else if (f & NGX_HTTP_OUTAGE_TARGET_SILENCED) {
            c->nsilenced++;

        } else if (f & NGX_HTTP_OUTAGE_TARGET_DECLARED) {
            c->ndeclared++;

        } else if (f & NGX_HTTP_OUTAGE_TARGET_OVER) {
            c->nover++;

        } else if (f & NGX_HTTP_OUTAGE_TARGET_TRIED) {
            c->ntargets++;
            c->npending++;

        } else if (f & NGX_HTTP_OUTAGE_TARGET_SENT) {
            c->nsent++;

        } else {
            c->nnone++;
        }
    }
}


/*
 * The over-reaction guard, with the lock held.  When the probe of every
 * distinct target fails at once, the likely fault is the prober's own
 * network, not every dependency: health then stops taking scopes down by
 * probe (Redis still does).  Built from probe verdicts only: a check taken
 * down by real traffic alone (connection-level evidence) proves nothing
 * about the prober's network, and the decision never suppresses it; one
 * whose traffic was confirmed by a failing probe counts as probe evidence.
 * Real traffic failing like the probes disproves the premise
 * ("guard_disproved", set by passive detection, which passes its evidence):
 * the guard stays off until some target stops failing.  So does a failing
 * target with a check that traffic took down alone while its probes fail
 * too: the traffic noticed the dead box before the probes did, and the
 * traffic that keeps failing there cannot take that check "more down".
 * Returns 0 (the state the status shows did not change) or the change,
 * for ngx_http_outage_health_guard_log().
 */

#define NGX_HTTP_OUTAGE_GUARD_SET        1      /* -> holding */
#define NGX_HTTP_OUTAGE_GUARD_CLEARED    2      /* holding -> off */
#define NGX_HTTP_OUTAGE_GUARD_BROKEN     3      /* holding -> disproved */
#define NGX_HTTP_OUTAGE_GUARD_REFUSED    4      /* off -> disproved */
#define NGX_HTTP_OUTAGE_GUARD_ENDED      5      /* disproved -> off */

static ngx_uint_t
ngx_http_outage_health_guard(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_str_t *evidence)
{
    ngx_uint_t                     ntargets, all, active, state, old;
    ngx_http_outage_guard_count_t  c;

    ngx_http_outage_health_count(omcf, shm, &c);
    old = shm->guard_state;

    /*
     * a target without a verdict yet but failing probes neither clears
     * the guard (a reload that adds a check while every probe fails) nor
     * lets a start page the fastest checks' scopes while the slower ones
     * count their "fall"; one whose first probe is only on its way keeps
     * a guard that is on, but neither engages one nor blocks engaging it:
     * while the guard is off it is left out of the count, so that a
     * healthy check's slow first answer never holds back another target's
     * real outage (review s11 R2 F1) and overlapping first probes at a
     * start never keep the guard off for the whole burst (review s12 R1 G1)
     */
    ntargets = c.ntargets + (old != NGX_HTTP_OUTAGE_GUARD_OFF ? c.nsent : 0);

    all = (c.nfailing > 0
           && c.nfailing + c.npending
              + (old != NGX_HTTP_OUTAGE_GUARD_OFF ? c.nsent : 0)
              == ntargets);

    /*
     * 1: traffic failed like the probes (kept until a target stops
     * failing); 2: a check down by traffic alone whose probes fail too,
     * recomputed at each change, so that it ends when that check's probes
     * pass again
     */
    if (ntargets < 2 || !all) {
        shm->guard_disproved = 0;

    } else if (c.ntraffic) {
        if (!shm->guard_disproved) {
            shm->guard_disproved = 2;
        }

    } else if (shm->guard_disproved == 2) {
        shm->guard_disproved = 0;
    }

    active = omcf->all_fail_guard
             && ntargets >= 2
             && all
             && !shm->guard_disproved;

    shm->guard_active = active;

    state = active ? NGX_HTTP_OUTAGE_GUARD_HOLDING
            : (omcf->all_fail_guard && ntargets >= 2 && all)
              ? NGX_HTTP_OUTAGE_GUARD_DISPROVED
              : NGX_HTTP_OUTAGE_GUARD_OFF;

    if (state == old) {
        return 0;
    }

    ngx_http_outage_health_guard_state(omcf, shm, state, evidence, &c);

    if (state == NGX_HTTP_OUTAGE_GUARD_HOLDING) {
        return NGX_HTTP_OUTAGE_GUARD_SET;
    }

    if (state == NGX_HTTP_OUTAGE_GUARD_DISPROVED) {
        return old == NGX_HTTP_OUTAGE_GUARD_HOLDING
               ? NGX_HTTP_OUTAGE_GUARD_BROKEN : NGX_HTTP_OUTAGE_GUARD_REFUSED;
    }

    return old == NGX_HTTP_OUTAGE_GUARD_HOLDING
           ? NGX_HTTP_OUTAGE_GUARD_CLEARED : NGX_HTTP_OUTAGE_GUARD_ENDED;
}


/*
 * The guard's new state for the status, with the lock held: since when,
 * and the evidence in the words of the log line that announces it (the
 * scope and index of a check, never its address: the status shows none).
 * evidence: the traffic that disproved the guard, from passive detection;
 * otherwise the witness of count() is the check down by traffic alone
 * whose probes fail too.  The count says which targets it reads against:
 * those left out are named, so that "2 of 2" on a site of 11 targets does
 * not read as all of them (review s11 R2 F1).
 */

/* the targets not counted, in the words of the reason */
static struct {
    size_t                         off;
    const char                    *what;
} ngx_http_outage_guard_left[] = {
    { offsetof(ngx_http_outage_guard_count_t, nsent),
      "with its first probe on its way" },
    { offsetof(ngx_http_outage_guard_count_t, nnone),
      "with no probe result yet" },
    { offsetof(ngx_http_outage_guard_count_t, nsilenced),
      "silenced in Redis" },
    { offsetof(ngx_http_outage_guard_count_t, ndeclared),
      "declared down or in maintenance in Redis" },
    { offsetof(ngx_http_outage_guard_count_t, nover),
      "failing since an incident in Redis, now over" }
};


/* "open" + the targets left out + "close", nothing when none is */

static u_char *
ngx_http_outage_health_guard_left(u_char *p, u_char *last,
    ngx_http_outage_guard_count_t *c, const char *open, const char *close)
{
    ngx_uint_t   i, n, any;

    any = 0;

    for (i = 0;
         i < sizeof(ngx_http_outage_guard_left)
             / sizeof(ngx_http_outage_guard_left[0]);
         i++)
    {
        n = *(ngx_uint_t *) ((u_char *) c + ngx_http_outage_guard_left[i].off);

        if (n) {
            p = ngx_slprintf(p, last, "%s%ui %s", any ? ", " : open, n,
                             ngx_http_outage_guard_left[i].what);
            any = 1;
        }
    }

    if (any) {
        p = ngx_slprintf(p, last, "%s", close);
    }

    return p;
}


static void
ngx_http_outage_health_guard_state(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_uint_t state, ngx_str_t *evidence,
    ngx_http_outage_guard_count_t *c)
{
    u_char                        *p, *last;
    ngx_str_t                     *names;
    ngx_uint_t                     witness, counted;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks;

    p = shm->guard_reason;
    last = p + NGX_HTTP_OUTAGE_ERR_MAX;
    checks = omcf->checks.elts;
    names = omcf->scopes.elts;
    witness = c->ntraffic ? c->witness : NGX_MAX_UINT32_VALUE;

    switch (state) {

    case NGX_HTTP_OUTAGE_GUARD_HOLDING:
        p = ngx_slprintf(p, last, "every health check fails (%ui of %ui "
                         "targets", c->nfailing + c->npending, c->ntargets);
        p = ngx_http_outage_health_guard_left(p, last, c,
                                              "; not counted: ", "");
        p = ngx_slprintf(p, last, ")");
        break;

    case NGX_HTTP_OUTAGE_GUARD_DISPROVED:
        p = ngx_slprintf(p, last, "real traffic fails like the probes");

        if (evidence) {
            p = ngx_slprintf(p, last, ": %V", evidence);

        } else if (witness < omcf->checks.nelts) {
            sc = &shm->checks[checks[witness].slot];
            p = ngx_slprintf(p, last, ": check \"%V\" (#%ui) is down by it "
                             "(%*s) and its probes fail too",
                             &names[checks[witness].scope], witness,
                             sc->reason_len, sc->reason);
        }

        break;

    default:

        /* a guard that was on keeps it with a first probe on its way */
        counted = c->ntargets + c->nsent;

        if (!omcf->all_fail_guard) {
            p = ngx_slprintf(p, last, "outage_check_guard off");

        } else if (counted < 2) {
            /*
             * targets left the count (a reload, checks gone unknown, a
             * scope Redis now decides), none recovered (audit s12 A4 F3)
             */
            p = ngx_slprintf(p, last, "%s target is checked now: the guard "
                             "needs two", counted ? "only one" : "no");
            p = ngx_http_outage_health_guard_left(p, last, c,
                                                  " (not counted: ", ")");

        } else {
            p = ngx_slprintf(p, last, "not every health check fails any "
                             "more");
        }
    }

    shm->guard_state = state;
    shm->guard_since = ngx_time();
    shm->guard_reason_len = p - shm->guard_reason;
}


/*
 * A check whose probe verdict the guard holds back while it holds: the
 * decision's own rule (decision.c), so that the status names exactly the
 * scopes that are not paged because of the guard.
 */

static ngx_uint_t
ngx_http_outage_health_guard_holds(ngx_http_outage_shm_check_t *sc)
{
    return sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
           && ngx_http_outage_check_down_by_probe(sc->reason, sc->reason_len);
}


/*
 * The guard's one rule for "held" (holding) and "released" (disproved),
 * shared by the status, its metric and the log line of the hold: a scope
 * that Redis does not decide (a maintenance or down in its window, an "ok"
 * or "checks silenced" that silences the checks: "Redis wins"; a degraded
 * banner without "checks silenced", an incident announced for later or
 * over decide nothing against a failing check); "held": with a check
 * failing by its probes (health_held(): down, or on the way to "fall"),
 * and not down (another check down by traffic alone pages it anyway);
 * "released": with a check down by its probes, paged because the guard
 * was disproved.  snap: the decision's views (NULL: none yet, only the
 * checks are read); what Redis decides is read from them only, never
 * from the live zone, so that the list is the decision's.
 */

static ngx_uint_t
ngx_http_outage_health_guard_keeps(ngx_http_outage_main_conf_t *omcf,
    ngx_http_outage_shm_t *shm, ngx_http_outage_snapshot_t *snap,
    ngx_uint_t scope, ngx_uint_t state)
{
    ngx_uint_t                     i;
    ngx_http_outage_view_t        *v;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks;

    if (state != NGX_HTTP_OUTAGE_GUARD_HOLDING
        && state != NGX_HTTP_OUTAGE_GUARD_DISPROVED)
    {
        return 0;
    }

    if (snap != NULL && scope < snap->nscopes) {
        v = &snap->scopes[scope];

        if (v->redis_decides
            || (state == NGX_HTTP_OUTAGE_GUARD_HOLDING
                && v->state == NGX_HTTP_OUTAGE_STATE_DOWN))
        {
            return 0;
        }
    }

    checks = omcf->checks.elts;

    for (i = 0; i < omcf->checks.nelts; i++) {
        sc = &shm->checks[checks[i].slot];

        if (checks[i].scope == scope
            && (state == NGX_HTTP_OUTAGE_GUARD_HOLDING
                ? ngx_http_outage_health_held(sc)
                : ngx_http_outage_health_guard_holds(sc)))
        {
            return 1;
        }
    }

    return 0;
}


/*
 * A check the guard holds back while it holds: down by its probes, or with
 * probes failing on the way to "fall" (the guard may engage before every
 * check of a failing target counted them), unless its last probe was
 * answered by the application (a verdict, not the prober's network).
 */

static ngx_uint_t
ngx_http_outage_health_held(ngx_http_outage_shm_check_t *sc)
{
    if (ngx_http_outage_health_answered(sc)) {
        return 0;
    }

    if (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN) {
        return ngx_http_outage_check_down_by_probe(sc->reason,
                                                   sc->reason_len);
    }

    return sc->fails > 0;
}


/* the scopes of that rule, each once, in the order of their first check */

static u_char *
ngx_http_outage_health_guard_list(u_char *p, u_char *last,
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_http_outage_snapshot_t *snap, ngx_uint_t state, const char *sep)
{
    ngx_str_t                     *names;
    ngx_uint_t                     i, j, first;
    ngx_http_outage_check_conf_t  *checks;

    checks = omcf->checks.elts;
    names = omcf->scopes.elts;
    first = 1;

    for (i = 0; i < omcf->checks.nelts; i++) {

        for (j = 0; j < i && checks[j].scope != checks[i].scope; j++) {
            /* void */
        }

        if (j < i
            || !ngx_http_outage_health_guard_keeps(omcf, shm, snap,
                                                   checks[i].scope, state))
        {
            continue;
        }

        /* scope names are [A-Za-z0-9_.-]: nothing needs escaping */
        p = ngx_slprintf(p, last, "%s\"%V\"", first ? "" : sep,
                         &names[checks[i].scope]);
        first = 0;
    }

    return p;
}


/* by NGX_HTTP_OUTAGE_GUARD_*: the status' "state", the metric's label */
static const char *ngx_http_outage_guard_names[] = {
    "off", "holding", "disproved"
};


/*
 * The status' "guard" object, from the status' copy of the zone: the whole
 * state in one place, so that a guard that every target's failure would
 * engage but traffic disproved ("disproved": those scopes are paged) reads
 * differently from one that holds them back ("holding").  "held" lists the
 * scopes the guard keeps up, "released" those it would keep up but does
 * not, because it was disproved.
 */

u_char *
ngx_http_outage_health_guard_json(u_char *p, u_char *last,
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_http_outage_snapshot_t *snap)
{
    u_char      buf[32];
    size_t      n;
    ngx_uint_t  state;

    state = shm->guard_state < 3 ? shm->guard_state
                                 : NGX_HTTP_OUTAGE_GUARD_OFF;

    p = ngx_slprintf(p, last, "\"guard\":{\"enabled\":%s,\"state\":\"%s\","
                     "\"since\":",
                     omcf->all_fail_guard ? "true" : "false",
                     ngx_http_outage_guard_names[state]);

    if (shm->guard_since) {
        n = ngx_http_outage_format_time(buf, shm->guard_since);
        p = ngx_slprintf(p, last, "\"%*s\"", n, buf);

    } else {
        p = ngx_slprintf(p, last, "null");
    }

    p = ngx_slprintf(p, last, ",\"reason\":");

    n = ngx_min(shm->guard_reason_len, NGX_HTTP_OUTAGE_ERR_MAX);

    if (n == 0 || last - p < 2) {
        p = ngx_slprintf(p, last, "null");

    } else {
        *p++ = '"';
        p += ngx_min(ngx_http_outage_json_escape(p, last - p - 1,
                                                 shm->guard_reason, n),
                     (size_t) (last - p - 1));
        *p++ = '"';
    }

    /* "held" while holding, "released" while disproved */
    p = ngx_slprintf(p, last, ",\"held\":[");

    if (state == NGX_HTTP_OUTAGE_GUARD_HOLDING) {
        p = ngx_http_outage_health_guard_list(p, last, omcf, shm, snap, state,
                                              ",");
    }

    p = ngx_slprintf(p, last, "],\"released\":[");

    if (state == NGX_HTTP_OUTAGE_GUARD_DISPROVED) {
        p = ngx_http_outage_health_guard_list(p, last, omcf, shm, snap, state,
                                              ",");
    }

    p = ngx_slprintf(p, last, "]");

    return ngx_slprintf(p, last, "},");
}


u_char *
ngx_http_outage_health_guard_prometheus(u_char *p, u_char *last,
    ngx_http_outage_main_conf_t *omcf, ngx_http_outage_shm_t *shm,
    ngx_http_outage_snapshot_t *snap)
{
    ngx_str_t                     *names;
    ngx_uint_t                     i, j, s, state, held;
    ngx_http_outage_check_conf_t  *checks;

    state = shm->guard_state < 3 ? shm->guard_state
                                 : NGX_HTTP_OUTAGE_GUARD_OFF;

    p = ngx_slprintf(p, last, "# HELP outage_guard_state The "
                     "all-checks-failing guard (1 for the current state: "
                     "off, holding probe verdicts back, or disproved by "
                     "traffic).\n"
                     "# TYPE outage_guard_state gauge\n");

    for (s = 0; s < 3; s++) {
        p = ngx_slprintf(p, last, "outage_guard_state{state=\"%s\"} %d\n",
                         ngx_http_outage_guard_names[s], (int) (s == state));
    }

    /*
     * one series per scope with checks, so that a dashboard of
     * outage_scope_state can tell "ok, held back by the guard" from "ok"
     */
    p = ngx_slprintf(p, last, "# HELP outage_guard_held A check of the "
                     "scope fails by its probes and the guard holds that "
                     "verdict back (the scope reads ok).\n"
                     "# TYPE outage_guard_held gauge\n");

    checks = omcf->checks.elts;
    names = omcf->scopes.elts;

    for (i = 0; i < omcf->checks.nelts; i++) {

        /* each scope once, at its first check */
        for (j = 0; j < i && checks[j].scope != checks[i].scope; j++) {
            /* void */
        }

        if (j < i) {
            continue;
        }

        held = (state == NGX_HTTP_OUTAGE_GUARD_HOLDING
                && ngx_http_outage_health_guard_keeps(omcf, shm, snap,
                                                      checks[i].scope,
                                                      state));

        /* scope names are [A-Za-z0-9_.-]: nothing needs escaping */
        p = ngx_slprintf(p, last, "outage_guard_held{scope=\"%V\"} %ui\n",
                         &names[checks[i].scope], held);
    }

    return p;
}


/*
 * A check's reason names who took it down: "check: ..." (its probes),
 * "passive: ...; check: ..." (real traffic and a failing probe: the probe
 * failed too, so it is probe evidence for the guard) or "passive: ..."
 * alone (real traffic that never reached the peer, no probe).  Pure.
 */

ngx_uint_t
ngx_http_outage_check_down_by_probe(u_char *reason, size_t len)
{
    size_t  i;

    if (len < sizeof("passive:") - 1
        || ngx_strncmp(reason, "passive:", sizeof("passive:") - 1) != 0)
    {
        return 1;
    }

    for (i = 0; i + sizeof("; check: ") - 1 <= len; i++) {
        if (ngx_strncmp(reason + i, "; check: ", sizeof("; check: ") - 1)
            == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Whether the check's last probe failed at the application itself (any
 * status but the credential ones, a body mismatch, or no answer in time
 * to a request it was sent: a hang behind a shared database): the
 * prober's network reaches it.
 */

static ngx_uint_t
ngx_http_outage_health_answered(ngx_http_outage_shm_check_t *sc)
{
    if (sc->probe_error == NGX_HTTP_OUTAGE_CHECK_BODY
        || (sc->probe_error == NGX_HTTP_OUTAGE_CHECK_TIMEOUT
            && sc->last_reached))
    {
        return 1;
    }

    return sc->probe_error == NGX_HTTP_OUTAGE_CHECK_STATUS
           && sc->last_status != NGX_HTTP_UNAUTHORIZED
           && sc->last_status != NGX_HTTP_FORBIDDEN
           && sc->last_status != 407;
}


/*
 * The settings passive evidence of a check is counted and judged under
 * (failures in a row, ratio, window, the statuses that count), as one
 * word: a reload that changes them must not let a streak or a pending
 * confirmation counted under the old ones act under the new ones
 * (shm.c, claim_slots).  Never 0, the key of a zeroed slot.  Pure.
 */

uint32_t
ngx_http_outage_check_passive_key(ngx_http_outage_check_conf_t *ck)
{
    uint32_t                  crc;
    ngx_uint_t                i, v[3];
    ngx_http_outage_range_t  *range;

    v[0] = ck->passive_min;
    v[1] = ck->passive_ratio;
    v[2] = (ngx_uint_t) ck->passive_window;

    ngx_crc32_init(crc);
    ngx_crc32_update(&crc, (u_char *) v, sizeof(v));

    if (ck->passive_status) {
        range = ck->passive_status->elts;

        for (i = 0; i < ck->passive_status->nelts; i++) {
            v[0] = range[i].low;
            v[1] = range[i].high;
            ngx_crc32_update(&crc, (u_char *) v, 2 * sizeof(ngx_uint_t));
        }
    }

    ngx_crc32_final(crc);

    return crc | 1;
}


/*
 * One line per change of the guard's state, after the lock is released;
 * the evidence is the status' "reason", copied under the lock.
 */

static void
ngx_http_outage_health_guard_log(ngx_log_t *log,
    ngx_http_outage_main_conf_t *omcf, ngx_uint_t change)
{
    u_char                      *p, buf[512],
                                 reason[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                       rlen;
    ngx_uint_t                   level, state;
    ngx_http_outage_shm_t       *shm;
    ngx_http_outage_snapshot_t  *snap;

    if (change == 0) {
        return;
    }

    shm = ngx_http_outage_shm();

    /*
     * The scopes the change concerns, for the on-call, by the status'
     * rules on the decision's views: those a guard that holds keeps up
     * ("held"), and those a guard that ends (or never held) pages now, a
     * check down by its probes ("released"): each such take-down was
     * logged while held, this line is when it takes effect
     */
    state = (change == NGX_HTTP_OUTAGE_GUARD_SET)
            ? NGX_HTTP_OUTAGE_GUARD_HOLDING
            : (change == NGX_HTTP_OUTAGE_GUARD_CLEARED
               || change == NGX_HTTP_OUTAGE_GUARD_BROKEN
               || change == NGX_HTTP_OUTAGE_GUARD_REFUSED)
              ? NGX_HTTP_OUTAGE_GUARD_DISPROVED : NGX_HTTP_OUTAGE_GUARD_OFF;
    p = buf;

    if (state != NGX_HTTP_OUTAGE_GUARD_OFF) {
        snap = ngx_http_outage_snapshot_pin(log);

        ngx_http_outage_shm_lock();
        p = ngx_http_outage_health_guard_list(buf, buf + sizeof(buf), omcf,
                                              shm, snap, state, ", ");
        ngx_http_outage_shm_unlock();

        if (snap) {
            ngx_http_outage_snapshot_release(snap);
        }
    }

    level = (p == buf) ? NGX_LOG_NOTICE : NGX_LOG_ERR;

    if (p == buf) {
        p = ngx_cpymem(buf, "none", sizeof("none") - 1);
    }

    ngx_http_outage_shm_lock();
    rlen = ngx_min(shm->guard_reason_len, NGX_HTTP_OUTAGE_ERR_MAX);
    ngx_memcpy(reason, shm->guard_reason, rlen);
    ngx_http_outage_shm_unlock();

    switch (change) {

    case NGX_HTTP_OUTAGE_GUARD_SET:
        /*
         * the reason says "every health check fails (...)" with the count
         * the guard decided on; "none": every failing scope paged anyway
         * or decided by Redis
         */
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "outage: %*s, which usually means the prober's own "
                      "network is broken, not every dependency: health "
                      "checks do not take scopes down until one passes "
                      "again, so that the whole site is not taken down "
                      "(outage_check_guard); scopes kept up: %*s",
                      rlen, reason, p - buf, buf);
        break;

    case NGX_HTTP_OUTAGE_GUARD_BROKEN:
        ngx_log_error(level, log, 0,
                      "outage: %*s, so the prober's network is not what is "
                      "broken: the all-checks-failing guard is off until a "
                      "check stops failing, every scope whose checks fail "
                      "is down (outage_check_guard cleared); scopes paged "
                      "now: %*s",
                      rlen, reason, p - buf, buf);
        break;

    case NGX_HTTP_OUTAGE_GUARD_REFUSED:
        /* every target fails, but the guard never held: say why, once */
        ngx_log_error(level, log, 0,
                      "outage: the health checks of all targets fail but "
                      "%*s, so the prober's network is not what is broken: "
                      "the all-checks-failing guard does not hold them "
                      "back, every scope whose checks fail is down "
                      "(outage_check_guard disproved); scopes paged now: "
                      "%*s",
                      rlen, reason, p - buf, buf);
        break;

    case NGX_HTTP_OUTAGE_GUARD_ENDED:
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "outage: %*s, the all-checks-failing guard's "
                      "disproval by traffic ends (outage_check_guard)",
                      rlen, reason);
        break;

    default: /* NGX_HTTP_OUTAGE_GUARD_CLEARED */
        ngx_log_error(level, log, 0,
                      "outage: %*s, health checks decide again "
                      "(outage_check_guard cleared); scopes paged now: %*s",
                      rlen, reason, p - buf, buf);
    }
}


static void
ngx_http_outage_health_guard_check(ngx_http_outage_health_t *h)
{
    ngx_uint_t              change;
    ngx_http_outage_shm_t  *shm;

    shm = ngx_http_outage_shm();

    ngx_http_outage_shm_lock();

    change = 0;

    /* only the newest configuration's prober decides about the guard */
    if (ngx_http_outage_lease_holds(&shm->health_lease)) {
        /* this configuration's checks, maybe in other slots and order */
        ngx_http_outage_health_regroup(h->omcf, shm);
        change = ngx_http_outage_health_guard(h->omcf, shm, NULL);

        if (change) {
            ngx_http_outage_shm_bump(shm);
        }
    }

    ngx_http_outage_shm_unlock();

    ngx_http_outage_health_guard_log(h->log, h->omcf, change);
}


/* ---- curl callbacks ----------------------------------------------------- */

/*
 * Keeps only what the match needs: the last bytes for a substring that may
 * straddle two pieces, or the first 64 KB for a regex.  Past the cap the
 * transfer is stopped, so a huge body is never downloaded.
 */

static size_t
ngx_http_outage_health_write(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_outage_probe_t *p = userdata;

    u_char    *d, *s, *end, win[2 * NGX_HTTP_OUTAGE_MATCH_MAX];
    size_t     n, m, k, take;
    ngx_str_t *match;

    n = size * nmemb;
    d = (u_char *) ptr;
    match = &p->conf->match;
    m = match->len;

    if (m && !p->found) {

        /* a match across the previous piece and this one */
        if (p->tail_len) {
            take = ngx_min(n, m - 1);
            ngx_memcpy(win, p->tail, p->tail_len);
            ngx_memcpy(win + p->tail_len, d, take);
            k = p->tail_len + take;

            for (s = win; s + m <= win + k; s++) {
                if (ngx_memcmp(s, match->data, m) == 0) {
                    p->found = 1;
                    break;
                }
            }
        }

        for (s = d, end = d + n; !p->found && s + m <= end; s++) {
            s = ngx_strlchr(s, end - m + 1, match->data[0]);
            if (s == NULL) {
                break;
            }

            if (ngx_memcmp(s, match->data, m) == 0) {
                p->found = 1;
            }
        }

        /* keep the last m - 1 bytes seen */
        if (!p->found && m > 1) {
            if (n >= m - 1) {
                ngx_memcpy(p->tail, d + n - (m - 1), m - 1);
                p->tail_len = m - 1;

            } else {
                k = p->tail_len + n;

                if (k > m - 1) {
                    ngx_memmove(p->tail, p->tail + (k - (m - 1)),
                                p->tail_len - (k - (m - 1)));
                    p->tail_len -= k - (m - 1);
                }

                ngx_memcpy(p->tail + p->tail_len, d, n);
                p->tail_len += n;
            }
        }
    }

    if (p->body && p->body_len < NGX_HTTP_OUTAGE_BODY_CAP) {
        take = ngx_min(n, NGX_HTTP_OUTAGE_BODY_CAP - p->body_len);
        ngx_memcpy(p->body + p->body_len, d, take);
        p->body_len += take;
    }

    p->received += n;

    if (p->received > NGX_HTTP_OUTAGE_BODY_CAP) {
        p->capped = 1;
        return 0;           /* stops the transfer: CURLE_WRITE_ERROR */
    }

    return n;
}


/*
 * curl's interest in a socket: an nginx connection carries the events,
 * level-triggered (curl reads what it wants, not necessarily everything).
 * Never called into curl from here (CURLM_RECURSIVE_API_CALL).
 */

static int
ngx_http_outage_health_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_http_outage_health_t *h = userp;

    ngx_file_info_t    fi;
    ngx_connection_t  *c;

    c = socketp;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "outage: curl socket %d what %d conn %p", (int) s, what, c);

    if (c) {
        ngx_http_outage_health_revalidate(h, c);
    }

    if (what == CURL_POLL_REMOVE) {
        if (c) {
            ngx_http_outage_health_forget(h, c, 0);
        }

        return 0;
    }

    if (c == NULL) {
        if (h->nconns == h->max_conns) {
            ngx_log_error(NGX_LOG_ERR, h->log, 0,
                          "outage: health checks use more sockets than "
                          "expected (%ui), the probe will time out",
                          h->max_conns);
            return 0;
        }

        /* ngx_get_connection() logs when worker_connections run out */
        c = ngx_get_connection(s, h->log);
        if (c == NULL) {
            return 0;
        }

        c->data = h;
        c->log = h->log;
        c->read->log = h->log;
        c->write->log = h->log;
        c->read->handler = ngx_http_outage_health_event;
        c->write->handler = ngx_http_outage_health_event;

        h->inos[h->nconns] = ngx_fd_info(s, &fi) == NGX_FILE_ERROR
                             ? 0 : fi.st_ino;
        h->conns[h->nconns++] = c;

        (void) curl_multi_assign(h->multi, s, c);
    }

    if ((what & CURL_POLL_IN) && !c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
            return 0;
        }

    } else if (!(what & CURL_POLL_IN) && c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if ((what & CURL_POLL_OUT) && !c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
            return 0;
        }

    } else if (!(what & CURL_POLL_OUT) && c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    return 0;
}


/*
 * curl owns the socket and closes it itself: only the events go, and the
 * connection is freed with fd = -1 so that nginx never closes it (nor
 * reports it as left open at exit).
 */

static void
ngx_http_outage_health_forget(ngx_http_outage_health_t *h,
    ngx_connection_t *c, ngx_uint_t flags)
{
    ngx_uint_t  i;

    if (c->read->active || c->write->active) {
        if (ngx_del_conn) {
            (void) ngx_del_conn(c, flags);

        } else {
            if (c->read->active) {
                (void) ngx_del_event(c->read, NGX_READ_EVENT, flags);
            }

            if (c->write->active) {
                (void) ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
            }
        }
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    for (i = 0; i < h->nconns; i++) {
        if (h->conns[i] == c) {
            h->nconns--;
            h->conns[i] = h->conns[h->nconns];
            h->inos[i] = h->inos[h->nconns];
            break;
        }
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


/*
 * libcurl 7.88 closes the socket of a connect attempt it gives up (a
 * transfer removed or timed out while connecting) without reporting
 * CURL_POLL_REMOVE first; the REMOVE comes later, when the descriptor is
 * closed or its number already reused.  epoll and kqueue forget a closed
 * socket by themselves, and a late epoll_ctl() fails with EBADF ("[alert]
 * epoll_ctl(2, N) failed") or, on a reused number, removes another
 * connection's events.  So before touching the events, check that the
 * descriptor still is the socket they were added for.
 */

static void
ngx_http_outage_health_revalidate(ngx_http_outage_health_t *h,
    ngx_connection_t *c)
{
    ngx_uint_t       i;
    ngx_file_info_t  fi;

    for (i = 0; i < h->nconns; i++) {
        if (h->conns[i] == c) {
            break;
        }
    }

    if (i == h->nconns) {
        return;
    }

    if (ngx_fd_info(c->fd, &fi) != NGX_FILE_ERROR && fi.st_ino == h->inos[i]) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, h->log, 0,
                   "outage: curl socket %d was closed before its removal",
                   (int) c->fd);

    if (ngx_event_flags
        & (NGX_USE_EPOLL_EVENT|NGX_USE_KQUEUE_EVENT|NGX_USE_EVENTPORT_EVENT))
    {
        /* the kernel dropped the registration with the socket */
        c->read->active = 0;
        c->write->active = 0;
    }

    /* a number reused by curl for a new socket under the same entry */
    h->inos[i] = ngx_fd_info(c->fd, &fi) == NGX_FILE_ERROR ? 0 : fi.st_ino;
}


/* -1: no timeout; 0: as soon as possible, but not from inside curl */

static int
ngx_http_outage_health_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
    ngx_http_outage_health_t *h = userp;

    if (h->timer.timer_set) {
        ngx_del_timer(&h->timer);
    }

    if (timeout_ms >= 0) {
        ngx_add_timer(&h->timer, (ngx_msec_t) timeout_ms);
    }

    return 0;
}


static void
ngx_http_outage_health_timer(ngx_event_t *ev)
{
    int                        running;
    ngx_http_outage_health_t  *h;

    h = &ngx_http_outage_health;

    if (ngx_exiting || ngx_quit || ngx_terminate || h->multi == NULL) {
        ngx_http_outage_health_abort(h);
        return;
    }

    ngx_http_outage_health_awake(h);

    (void) curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0,
                                    &running);

    ngx_http_outage_health_done(h);
}


static void
ngx_http_outage_health_event(ngx_event_t *ev)
{
    int                        running;
    ngx_socket_t               fd;
    ngx_connection_t          *c;
    ngx_http_outage_health_t  *h;

    c = ev->data;
    h = c->data;
    fd = c->fd;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_outage_health_abort(h);
        return;
    }

    /* before curl, which checks its timeouts before it reads */
    ngx_http_outage_health_awake(h);

    /* c may be freed by curl's socket callback from here on */
    (void) curl_multi_socket_action(h->multi, fd,
                                    ev->write ? CURL_CSELECT_OUT
                                              : CURL_CSELECT_IN,
                                    &running);

    ngx_http_outage_health_done(h);
}


/* ---- passive detection -------------------------------------------------- */

static ngx_uint_t
ngx_http_outage_passive_is_address(ngx_str_t *peer)
{
    u_char  *p;

    /* "addr:port", "[v6]:port" or "unix:path" as nginx prints a peer */
    if (peer->len > 5 && ngx_strncmp(peer->data, "unix:", 5) == 0) {
        return 1;
    }

    for (p = peer->data + peer->len;
         p > peer->data && p[-1] >= '0' && p[-1] <= '9';
         p--)
    {
        /* void */
    }

    return p > peer->data && p[-1] == ':' && p < peer->data + peer->len;
}


/*
 * What a finished request proves about the upstream of the paged location
 * it went through, from nginx's record of the attempts (r->upstream_states,
 * one entry per peer tried, a separator with peer NULL before the states of
 * each further upstream a request reaches by error_page, a named location
 * or X-Accel-Redirect).  Only the paged location's own attempts count,
 * from "first" to the next separator: an error_page's @fallback upstream,
 * the storage an X-Accel-Redirect fetches from or a @sorry location's
 * answer prove nothing about it.
 *
 * header_time is set only once the peer's response header was parsed, so a
 * status with header_time set is the application's own answer; without it,
 * a 502 or 504 is nginx's: ngx_http_upstream_next() turned a connect error,
 * a reset, a timeout, an invalid header or "no live upstreams" into it.
 * A paged upstream that tried no peer at all and ended in nginx's own 502
 * (or in the maintenance page that replaced it) while its host name was
 * still unresolved failed to resolve it (resolver error or timeout, a
 * deleted record, no resolver): "cannot resolve".  A client that left
 * during the resolution ends in 499 and proves nothing.
 *
 * Returns NGX_OK with *cause set for nginx's own failure, NGX_OK with
 * *cause NULL for an answer of the upstream (its status in *status), and
 * NGX_DECLINED when the request proves nothing (no upstream, the client
 * went away first, an internal error).  *peer is the address nginx tried
 * last, or NULL.
 */

static ngx_int_t
ngx_http_outage_passive_classify(ngx_http_request_t *r, ngx_uint_t first,
    void *inherited, ngx_uint_t *status, const char **cause, ngx_str_t **peer,
    ngx_uint_t *connected)
{
    ngx_uint_t                  i, n, last, own, tls;
    ngx_http_upstream_t        *u, *prev;
    ngx_http_outage_ctx_t      *ctx;
    ngx_http_upstream_state_t  *state;

    n = r->upstream_states ? r->upstream_states->nelts : 0;
    state = n ? r->upstream_states->elts : NULL;

    for (last = first; last < n && state[last].peer != NULL; last++) {
        /* void */
    }

    /*
     * r->upstream is the paged location's own only when no other upstream
     * started after it (its states are the last ones) and it is not one
     * the request brought along from before the paged location.
     */
    u = r->upstream;
    own = (u != NULL && u != inherited && last == n && first <= n);

    *peer = NULL;
    *connected = 0;

    if (last == first) {
        if (own && ngx_http_outage_passive_unresolved(u, inherited)
            && (r->err_status == NGX_HTTP_BAD_GATEWAY
                || r->headers_out.status == NGX_HTTP_BAD_GATEWAY
                /* the 502 replaced by the maintenance page (intercept) */
                || r->headers_out.status == NGX_HTTP_SERVICE_UNAVAILABLE))
        {
            *status = NGX_HTTP_BAD_GATEWAY;
            *cause = "cannot resolve";
            return NGX_OK;
        }

        /*
         * "error_page 502 = @sorry" after the paged upstream failed to
         * resolve: @sorry's upstream is r->upstream now, and the paged one
         * is the upstream the request brought into the location it ended
         * in.  It is the paged one when exactly one upstream ran after it
         * (the separator at "first", the last location's): an upstream of
         * a location in between would have left a separator of its own.
         * Only nginx's own 502 sends a request on from an upstream that
         * has no address: the redirect is the status.
         */
        ctx = ngx_http_outage_ctx(r, 0);
        prev = ctx ? ctx->page.inherited : NULL;

        if (prev != NULL && prev != u && last < n
            && ngx_http_outage_passive_unresolved(prev, inherited))
        {
            for (i = first + 1; i < n && state[i].peer != NULL; i++) {
                /* void */
            }

            if (i == n) {
                *status = NGX_HTTP_BAD_GATEWAY;
                *cause = "cannot resolve";
                return NGX_OK;
            }
        }

        return NGX_DECLINED;
    }

    /*
     * an earlier attempt of this request connected (and timed out, or got
     * garbage): the servers its failure marks failed say nothing of
     * refusals alone
     */
    *connected = 0;

    for (i = first; i + 1 < last; i++) {
        if (state[i].connect_time != (ngx_msec_t) -1) {
            *connected = 1;
        }
    }

    state = &state[last - 1];

    *peer = state->peer;
    *status = state->status;
    *cause = NULL;

    if (state->header_time != (ngx_msec_t) -1) {

        /*
         * Bytes that are not HTTP pass as an HTTP/0.9 "200" with no status
         * line: whatever answers there is not the application.
         */
        if (own && u->headers_in.status_n == 0
            && r->http_version == NGX_HTTP_VERSION_9)
        {
            *status = NGX_HTTP_BAD_GATEWAY;
            *cause = "no valid response";
            return NGX_OK;
        }

        return state->status ? NGX_OK : NGX_DECLINED;
    }

    /*
     * A status line arrived before nginx gave up on the response (headers
     * too big for proxy_buffer_size, a connection closed mid-header): the
     * application answered, and a visitor can provoke this at will with a
     * long URL echoed into a header.
     */
    if (own && u->headers_in.status_n != 0) {
        *status = u->headers_in.status_n;
        return NGX_OK;
    }

    /*
     * nginx records the connect time once the TLS handshake is done too:
     * with TLS to the upstream, "not connected" may be a handshake the
     * peer refused (strict SNI, and "proxy_ssl_name $host" lets a visitor
     * choose it) or a certificate nginx refused.  The peer was reached:
     * a probe decides.  Either upstream the request ran (the paged one,
     * or the one of an error_page it went on to) may be it.
     */
    tls = 0;

#if (NGX_HTTP_SSL)
    ctx = ngx_http_outage_ctx(r, 0);
    prev = ctx ? ctx->page.inherited : NULL;
    tls = (u != NULL && u->ssl) || (prev != NULL && prev->ssl);
#endif

    switch (state->status) {

    case NGX_HTTP_BAD_GATEWAY:
        /*
         * Connected, then no usable header: garbage, a close or a reset.
         * The state tells a close or reset before any byte apart
         * (bytes_received 0), but it stays "no valid response", which
         * asks for a confirming probe: a visitor can provoke it on a
         * healthy service with a request that makes the application drop
         * its connection (a worker that crashes or is killed on it, a
         * size limit or a WAF that resets instead of answering).
         */
        *cause = (state->connect_time == (ngx_msec_t) -1)
                 ? "cannot connect" : "no valid response";

        /*
         * "no live upstreams": the balancer had no peer left to try (each
         * marked failed by max_fails, which read timeouts of a slow URL do
         * too) and nginx recorded the upstream's name, not an address with
         * a port, as the peer.  Nothing was tried: it needs a probe.
         */
        if (state->connect_time == (ngx_msec_t) -1
            && !ngx_http_outage_passive_is_address(state->peer))
        {
            *cause = "no live upstreams";

        } else if (state->connect_time == (ngx_msec_t) -1 && tls) {
            *cause = "connect or TLS handshake failed";
        }

        return NGX_OK;

    case NGX_HTTP_GATEWAY_TIME_OUT:
        *cause = (state->connect_time != (ngx_msec_t) -1) ? "timed out"
                 : tls ? "connect or TLS handshake timed out"
                       : "connect timed out";
        return NGX_OK;

    default:
        return NGX_DECLINED;
    }
}


/*
 * An upstream of the paged location (not one it inherited) whose host
 * name is still without an address once nginx is done with it: the
 * resolution failed.  Also page.c's: such an upstream keeps the passive
 * verdict over the error_page location the request goes on to.
 */

ngx_uint_t
ngx_http_outage_passive_unresolved(void *upstream, void *inherited)
{
    ngx_http_upstream_t  *u = upstream;

    return u != NULL && u != inherited
           && u->resolved && u->resolved->host.len
           && u->resolved->sockaddr == NULL && u->resolved->naddrs == 0
           && u->resolved->ctx == NULL;
}


static ngx_int_t
ngx_http_outage_health_log_handler(ngx_http_request_t *r)
{
    u_char                       buf[NGX_HTTP_OUTAGE_PASSIVE_NAME_MAX
                                     + sizeof(":65535")];
    void                        *inherited;
    ngx_str_t                   *peer, *name, hostport;
    ngx_uint_t                   status, first, connected, busy;
    const char                  *cause;
    ngx_http_upstream_t         *u;
    ngx_http_outage_ctx_t       *octx;
    ngx_http_outage_loc_conf_t  *olcf;

    /*
     * The paged location the request went through, wherever the answer
     * came from in the end (an error_page, a named location).
     */
    olcf = ngx_http_outage_page_passive_conf(r, &first, &inherited);

    if (olcf == NULL) {
        olcf = ngx_http_get_module_loc_conf(r, ngx_http_outage_module);
        first = 0;
        inherited = NULL;
    }

    if (olcf->page_scopes == NULL || !olcf->passive) {
        return NGX_OK;
    }

    if (ngx_http_outage_passive_classify(r, first, inherited, &status,
                                         &cause, &peer, &connected)
        != NGX_OK)
    {
        return NGX_OK;
    }

    /*
     * The host name of a variable "*_pass" (nginx resolves it per
     * request): one that answered is recorded, one that does not resolve
     * is judged against those (see ngx_http_outage_health_passive()).
     */
    u = r->upstream;
    name = NULL;

    if (cause != NULL && ngx_strcmp(cause, "cannot resolve") == 0
        && !ngx_http_outage_passive_unresolved(u, inherited))
    {
        /*
         * judged on the upstream the paged location brought into an
         * "error_page 502 = @sorry" (see classify): its name is the one,
         * not @sorry's
         */
        octx = ngx_http_outage_ctx(r, 0);
        u = octx ? octx->page.inherited : NULL;
        inherited = NULL;
    }

    /*
     * "host:port": a variable that carries both ("$http_host") lets the
     * visitor choose the port too, and a closed port of a name seen
     * answering on another one is no evidence about the dependency
     */
    if (u != NULL && u != inherited && u->resolved != NULL
        && u->resolved->host.len)
    {
        /* a longer one is never fingerprinted: never seen answering */
        name = &u->resolved->host;

        if (u->resolved->host.len <= NGX_HTTP_OUTAGE_PASSIVE_NAME_MAX) {
            hostport.data = buf;
            hostport.len = ngx_sprintf(buf, "%V:%ui", &u->resolved->host,
                                       (ngx_uint_t) u->resolved->port)
                           - buf;
            name = &hostport;
        }
    }

    /*
     * "no live upstreams" is also a busy upstream's answer: every server
     * at its max_conns (nginx logs the same line).  Either upstream the
     * request ran may be the paged one (see classify()): the reading that
     * pages less counts.
     */
    busy = NGX_HTTP_OUTAGE_NOLIVE_FAILED;

    if (cause != NULL && ngx_strcmp(cause, "no live upstreams") == 0) {
        octx = ngx_http_outage_ctx(r, 0);
        busy = ngx_http_outage_passive_nolive(r->upstream);

        if (octx != NULL) {
            busy = ngx_max(busy,
                           ngx_http_outage_passive_nolive(
                                                      octx->page.inherited));
        }
    }

    ngx_http_outage_health_passive(r, olcf->page_scopes, status, cause, peer,
                                   name, connected, busy);

    return NGX_OK;
}


/*
 * Whether the upstream has a server with max_conns: its "no live
 * upstreams" may mean "every server busy", not "every server marked
 * failed".  The configuration's own record of the servers (an
 * "upstream" block, or the one server of a proxy_pass address), whatever
 * balancer it uses; none for an address resolved per request.
 */

static ngx_uint_t
ngx_http_outage_passive_may_be_busy(ngx_http_upstream_t *u)
{
    ngx_uint_t                   i;
    ngx_http_upstream_server_t  *server;

    if (u == NULL || u->upstream == NULL || u->upstream->servers == NULL) {
        return 0;
    }

    server = u->upstream->servers->elts;

    for (i = 0; i < u->upstream->servers->nelts; i++) {
        if (server[i].max_conns) {
            return 1;
        }
    }

    return 0;
}


/*
 * What nginx's "no live upstreams" of the upstream means, read from the
 * balancer's own state of its servers right after it gave up (the request
 * ends within the same event): every server it may use marked failed by
 * max_fails within fail_timeout and none at its max_conns (FAILED), or
 * one busy or not marked failed (BUSY).  Without max_conns it can only be
 * the first.  UNREAD: a balancer whose state is not round robin's
 * (keepalive without a zone wraps it out of reach, third-party ones), or
 * every server marked failed with one still running a request: either
 * (a probe decides; while none can run, the refusals' rule pages).
 */

static ngx_uint_t
ngx_http_outage_passive_nolive(ngx_http_upstream_t *u)
{
    time_t                         now;
    ngx_uint_t                     failed, live, inflight;
    ngx_http_upstream_rr_peer_t   *peer;
    ngx_http_upstream_rr_peers_t  *peers;

    if (!ngx_http_outage_passive_may_be_busy(u)) {
        return NGX_HTTP_OUTAGE_NOLIVE_FAILED;
    }

    peers = ngx_http_outage_passive_rr_peers(u);

    if (peers == NULL) {
        return NGX_HTTP_OUTAGE_NOLIVE_UNREAD;
    }

    now = ngx_time();
    failed = 0;
    live = 0;
    inflight = 0;

    /* the primary servers, then the backup ones (never further) */
    for ( /* void */ ; peers; peers = peers->next) {
        ngx_http_upstream_rr_peers_rlock(peers);

        for (peer = peers->peer; peer; peer = peer->next) {
            if (peer->down) {
                continue;
            }

            ngx_http_upstream_rr_peer_lock(peers, peer);

            /*
             * Round robin's own tests (a single server is never failed).
             * One marked failed at its max_conns is busy.  One marked
             * failed with a request in flight is either: tried again after
             * its fail_timeout, it reads as failed for every other request
             * while that one runs, which may have connected (a long
             * report: review s12 R2 F1), or hangs on a dead box (R7 F3); a
             * refused connection is freed before this request's log phase
             */
            if (peers->single
                || peer->max_fails == 0
                || peer->fails < peer->max_fails
                || now - peer->checked > peer->fail_timeout
                || (peer->max_conns && peer->conns >= peer->max_conns))
            {
                live++;

            } else if (peer->conns) {
                inflight++;

            } else {
                failed++;
            }

            ngx_http_upstream_rr_peer_unlock(peers, peer);
        }

        ngx_http_upstream_rr_peers_unlock(peers);
    }

    if (live || !(failed || inflight)) {
        return NGX_HTTP_OUTAGE_NOLIVE_BUSY;
    }

    return inflight ? NGX_HTTP_OUTAGE_NOLIVE_UNREAD
                    : NGX_HTTP_OUTAGE_NOLIVE_FAILED;
}


/*
 * The upstream's primary round-robin servers where nginx's own contracts
 * say that is what the balancer keeps, NULL otherwise: with "zone", nginx
 * copies the upstream's peers into the zone as round robin's whatever the
 * balancer; without one, a request whose peers round robin frees
 * (round robin, hash, ip_hash, least_conn, random) runs on a round-robin
 * set, the upstream's own (or its backup set, whose name is the
 * upstream's) as ngx_http_upstream_init_round_robin() built them.
 */

static ngx_http_upstream_rr_peers_t *
ngx_http_outage_passive_rr_peers(ngx_http_upstream_t *u)
{
    ngx_http_upstream_srv_conf_t      *uscf;
    ngx_http_upstream_rr_peer_data_t  *rrp;

    uscf = u->upstream;

    if (uscf->peer.data == NULL) {
        return NULL;
    }

#if (NGX_HTTP_UPSTREAM_ZONE)
    if (uscf->shm_zone) {
        return uscf->peer.data;
    }
#endif

    if (u->peer.free != ngx_http_upstream_free_round_robin_peer
        || u->peer.data == NULL)
    {
        return NULL;
    }

    rrp = u->peer.data;

    if (rrp->peers == NULL
        || (rrp->peers != uscf->peer.data
            && rrp->peers->name != &uscf->host))
    {
        return NULL;
    }

    return uscf->peer.data;
}


/*
 * Counts one judged response against a check's window; returns 1 when the
 * documented rule (docs/directives.md, outage_check, "Passive detection")
 * says the check is down.  Atomic operations only: two workers that start
 * the same second's bucket at once may lose a count or two of that second,
 * which the rule tolerates.  "since" is the check's last change of state:
 * evidence from before it is not used.
 */

static ngx_uint_t
ngx_http_outage_passive_count(ngx_http_outage_shm_passive_t *ps,
    ngx_uint_t min, ngx_uint_t ratio, time_t window, time_t since,
    time_t now, ngx_uint_t failed)
{
    time_t                         sec;
    ngx_uint_t                     i, n, total, fails;
    ngx_atomic_uint_t              old;
    ngx_http_outage_shm_bucket_t  *b;

    b = &ps->buckets[now % NGX_HTTP_OUTAGE_PASSIVE_SLOTS];
    old = b->sec;

    if ((time_t) old != now && ngx_atomic_cmp_set(&b->sec, old, now)) {
        b->total = 0;
        b->failed = 0;
    }

    (void) ngx_atomic_fetch_add(&b->total, 1);

    if (!failed) {
        (void) ngx_atomic_fetch_add(&ps->alive, 1);

        if (ps->streak) {
            ps->streak = 0;
        }

        return 0;
    }

    (void) ngx_atomic_fetch_add(&b->failed, 1);

    /*
     * A streak is broken by an answer of the upstream (above), by a gap of
     * "window" or more since its last failure, and by a change of state.
     */
    sec = (time_t) ps->last_failure;

    if (ps->streak == 0 || now - sec >= window || sec < since) {
        ps->streak = 1;
        n = 1;

    } else {
        n = ngx_atomic_fetch_add(&ps->streak, 1) + 1;
    }

    ps->last_failure = (ngx_atomic_uint_t) now;

    if (n < min) {
        return 0;
    }

    total = 0;
    fails = 0;

    for (i = 0; i < NGX_HTTP_OUTAGE_PASSIVE_SLOTS; i++) {
        b = &ps->buckets[i];
        sec = (time_t) b->sec;

        if (sec > now || now - sec >= window || sec < since) {
            continue;
        }

        total += b->total;
        fails += b->failed;
    }

    /* a bucket restarted by another worker may have lost our own count */
    return fails && fails * 100 >= ratio * total;
}


/*
 * A judged response against a check that is down (while it is, passive
 * evidence takes nothing down and brings nothing up): a request that could
 * not reach the check's own dependency ("direct": the evidence that alone
 * takes a check down) renews a take-down by traffic alone, and an answer
 * of it ends that renewal (ngx_http_outage_health_renewed()).  Requests
 * that bypass the page and those of a scope Redis keeps up ("ok") are
 * such traffic.  Unlocked: single words, and a lost update moves the
 * verdict's end by one request.
 */

static void
ngx_http_outage_passive_renew(ngx_http_outage_shm_check_t *sc,
    ngx_uint_t direct, ngx_uint_t failed)
{
    if (ngx_http_outage_check_down_by_probe(sc->reason, sc->reason_len)) {
        return;
    }

    if (direct) {
        sc->renewed = ngx_current_msec;
        sc->renewed_seen = 1;

    } else if (!failed && sc->renewed_seen) {
        sc->renewed_seen = 0;
    }
}


/*
 * Failures that prove the peer unreachable from nginx itself: it could not
 * connect (refused, unreachable, no answer to the SYN) or could not resolve
 * the upstream's name.  A probe may not exercise them at all (a probe by
 * address passes while the name is gone), so they may take the check down
 * without asking for a probe, but only when they are about the check's own
 * dependency (see ngx_http_outage_health_passive()).  A read timeout, a
 * garbage answer, a close or reset before any byte of the answer, or "no
 * live upstreams" (peers marked failed, often by read timeouts) need no
 * broken peer: a slow URL, a request that makes the application drop its
 * connection, or an attacker can cause
 * them, so they ask for a confirming probe.  Pure.
 */

static ngx_uint_t
ngx_http_outage_passive_direct(const char *cause)
{
    return cause != NULL
           && (ngx_strcmp(cause, "cannot connect") == 0
               || ngx_strcmp(cause, "connect timed out") == 0
               || ngx_strcmp(cause, "cannot resolve") == 0);
}


/*
 * Whether a check's own failing probes (the kind of the last one) already
 * confirm traffic evidence that needs a confirming probe, so that it
 * disproves the guard: a read timeout like a probe that timed out,
 * nginx's "no valid response" (reset, garbage, invalid header) like a
 * probe reset or garbled.  Never an application status, and never a probe
 * answered with a status (the guard then stands on the probes'
 * credentials, 401/403/407, which a visitor's failures cannot
 * contradict).  Pure.
 */

ngx_uint_t
ngx_http_outage_passive_confirms(const char *cause, ngx_uint_t kind)
{
    if (cause == NULL) {
        return 0;
    }

    if (ngx_strcmp(cause, "timed out") == 0) {
        return kind == NGX_HTTP_OUTAGE_CHECK_TIMEOUT;
    }

    if (ngx_strcmp(cause, "no valid response") == 0) {
        return kind == NGX_HTTP_OUTAGE_CHECK_RESET
               || kind == NGX_HTTP_OUTAGE_CHECK_OTHER;
    }

    return 0;
}


/*
 * The parts the passive log lines share, so that the take-down, the held
 * check's conversion and the request for a probe state the rule and name
 * the peer alike: "10 failures in a row, at least 50 percent of the last
 * 5 s" and "; peer: 127.0.0.1:8080" (nothing when there is no peer).
 */

#define NGX_HTTP_OUTAGE_PASSIVE_RULE_LEN  128
#define NGX_HTTP_OUTAGE_PEER_TAIL_LEN     (sizeof("; peer: ") - 1 + 64)

static size_t
ngx_http_outage_passive_rule_text(u_char *buf, size_t size,
    ngx_http_outage_check_conf_t *ck)
{
    return ngx_snprintf(buf, size, "%ui failures in a row, at least %ui "
                        "percent of the last %T s", ck->passive_min,
                        ck->passive_ratio, ck->passive_window)
           - buf;
}


static size_t
ngx_http_outage_passive_peer_tail(u_char *buf, size_t size, ngx_str_t *peer)
{
    size_t   n;
    u_char  *p;

    p = ngx_cpymem(buf, "; peer: ", sizeof("; peer: ") - 1);
    n = ngx_http_outage_log_preview(p, size - (p - buf), peer->data,
                                    peer->len);

    return n ? (size_t) (p - buf) + n : 0;
}


/*
 * One judged response against the checks of each bound scope.  When some
 * of those checks probe the very host:port nginx tried, only they are
 * charged: the sidecar or the other dependency a scope also checks did not
 * fail.  Otherwise only the checks that never saw their own host:port in
 * traffic (the probe targets a health port or a name nginx does not use)
 * are: the others' dependencies are elsewhere, and failed traffic charged
 * to none of them is said once a minute.
 *
 * Connection-level evidence (see ngx_http_outage_passive_direct()) takes
 * the check down when the rule fires if it is about the check's own
 * dependency: the peer nginx could not connect to is the host:port the
 * check probes, or the name that does not resolve is one seen answering
 * through this check (a deleted record).  A dead secondary upstream (on
 * another host, or on another port of the probed host: an image proxy next
 * to the application) or a name built from request data (a bogus Host, a
 * tenant that does not exist) proves nothing about the check.
 * Other evidence never does on its own: the check asks the prober for an
 * immediate probe and the prober takes it down only if that probe fails
 * too (see the store below).  One slow URL, a flood of requests made to
 * time out or an error_page chain cannot page a service whose probe
 * passes.  Passive evidence only counts
 * while the check is not down (but for a check the guard holds back): requests that bypass the maintenance page
 * (staff) then neither keep it down nor delay the probes that bring it up
 * ("rise").  The zone lock is taken only when the rule fires, and to add
 * a name seen answering to the check's set.
 */

static void
ngx_http_outage_health_passive(ngx_http_request_t *r, ngx_array_t *scopes,
    ngx_uint_t status, const char *cause, ngx_str_t *peer, ngx_str_t *name,
    ngx_uint_t connected, ngx_uint_t busy)
{
    u_char                         text[NGX_HTTP_OUTAGE_ERR_MAX],
                                   probe[NGX_HTTP_OUTAGE_ERR_MAX],
                                   disproof[NGX_HTTP_OUTAGE_ERR_MAX],
                                   rule[NGX_HTTP_OUTAGE_PASSIVE_RULE_LEN],
                                   where[NGX_HTTP_OUTAGE_PEER_TAIL_LEN];
    size_t                         len, plen, rlen, wlen;
    time_t                         now;
    ngx_str_t                     *names, evidence;
    ngx_uint_t                     i, j, k, *ids, failed, ask, matching,
                                   direct, down, guard, held, conn, resolve,
                                   silenced, level, nolive, unowned, lost,
                                   charged;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_range_t       *range;
    ngx_http_outage_shm_check_t   *sc;
    ngx_http_outage_check_conf_t  *checks, *ck;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = ngx_http_get_module_main_conf(r, ngx_http_outage_module);
    shm = ngx_http_outage_shm();

    if (shm == NULL || scopes == NULL || omcf->checks.nelts == 0) {
        return;
    }

    checks = omcf->checks.elts;
    ids = scopes->elts;
    names = omcf->scopes.elts;
    now = ngx_time();
    matching = 0;
    conn = ngx_http_outage_passive_direct(cause);
    resolve = (conn && ngx_strcmp(cause, "cannot resolve") == 0);
    nolive = (cause != NULL && ngx_strcmp(cause, "no live upstreams") == 0);
    wlen = 0;

    /*
     * The peer nginx could not reach, named in the log lines only: the
     * status endpoint shows no addresses (docs/security.md).
     */
    if (conn && !resolve && peer != NULL) {
        wlen = ngx_http_outage_passive_peer_tail(where, sizeof(where), peer);
    }

    for (i = 0; peer && i < omcf->checks.nelts; i++) {
        sc = &shm->checks[checks[i].slot];

        for (j = 0; j < scopes->nelts; j++) {
            if (ids[j] == checks[i].scope
                && ngx_http_outage_passive_probes(&checks[i], sc, peer))
            {
                matching = 1;

                /* unlocked: the flag is only ever set, for this key */
                if (!sc->own_traffic && sc->key == checks[i].key) {
                    sc->own_traffic = 1;
                }

                break;
            }
        }
    }

    /*
     * An address no check of the location's scopes probes (a widget, a
     * search service under the shop's location) is not charged to a check
     * whose own dependency paged traffic was seen reaching (its probed
     * host:port): neither a confirming probe nor a line naming a check
     * that was not involved, nor the guard's disproval.  A check that
     * never saw its host:port in traffic (it probes a management port, or
     * a name nginx does not use) is still charged: that traffic is the
     * only evidence about its application.  "no live upstreams" names the
     * upstream, not an address, and a unix socket cannot be what an
     * http:// probe reaches: those are judged as before.
     */
    unowned = (peer != NULL && !matching
               && ngx_http_outage_passive_is_address(peer)
               && !(peer->len > 5
                    && ngx_strncmp(peer->data, "unix:", 5) == 0));
    lost = 0;
    charged = 0;

    for (i = 0; i < omcf->checks.nelts; i++) {
        ck = &checks[i];

        for (j = 0; j < scopes->nelts; j++) {
            if (ids[j] == ck->scope) {
                break;
            }
        }

        if (j == scopes->nelts) {
            continue;
        }

        if (matching
            && !ngx_http_outage_passive_probes(ck, &shm->checks[ck->slot],
                                               peer))
        {
            continue;
        }

        failed = (cause != NULL);

        if (!failed && ck->passive_status) {
            range = ck->passive_status->elts;

            for (k = 0; k < ck->passive_status->nelts; k++) {
                if (status >= range[k].low && status <= range[k].high) {
                    failed = 1;
                    break;
                }
            }
        }

        sc = &shm->checks[ck->slot];

        if (cause == NULL && name != NULL && sc->key == ck->key) {
            ngx_http_outage_passive_name_record(sc, ck->key, name, now);
        }

        if (unowned && sc->own_traffic && sc->key == ck->key) {
            lost |= failed;
            continue;
        }

        charged = 1;

        /*
         * A variable upstream ("name" set) is the check's own only under a
         * name seen answering: a Host header chosen by a visitor may also
         * be the address of the probed host with a closed port.
         */
        /*
         * A refusal is the check's own only on the very host:port it
         * probes: another port of that address may be the application
         * behind a probed management port, or an optional service on the
         * same box (an image proxy, search, a widget) whose death says
         * nothing about the check; the confirming probe decides.
         */
        direct = (conn
                  && (name == NULL ? !resolve
                      : resolve ? ngx_http_outage_passive_name_own(ck, sc,
                                                                   name)
                      : ngx_http_outage_passive_name_seen(sc, name))
                  && (resolve || matching));

        /*
         * "no live upstreams" after nginx could not connect to the check's
         * own dependency, with no answer since, continues that evidence:
         * the servers were marked failed by those refusals, not by read
         * timeouts of a slow URL (an answer resets it; a minute at most,
         * while nginx retries each server after its fail_timeout).  With
         * max_conns it may instead be every server busy after one refusal
         * (a restart, then long requests holding every connection): the
         * balancer's state tells which, and a busy one asks for a probe.
         * Where that state cannot be read, a probe decides, unless none
         * can run (the last word of its probes is "not probed"): a dead
         * upstream would never be paged, a busy one refuses visitors with
         * nginx's 502 anyway.
         * Unlocked: a lost update only asks for a probe.
         */
        if (sc->key != ck->key) {
            /* a slot another check took over: nothing to remember */

        } else if (cause == NULL) {
            if (sc->conn_failed) {
                sc->conn_failed = 0;
            }

        } else if (direct && !resolve && !connected) {
            sc->conn_failed = now;

        } else if (nolive && sc->conn_failed
                   && now - sc->conn_failed <= 60
                   && now >= sc->conn_failed
                   && (busy == NGX_HTTP_OUTAGE_NOLIVE_FAILED
                       || (busy == NGX_HTTP_OUTAGE_NOLIVE_UNREAD
                           && sc->last_error
                              == NGX_HTTP_OUTAGE_CHECK_SETUP)))
        {
            direct = 1;
        }

        if (failed) {
            (void) ngx_atomic_fetch_add((ngx_atomic_t *) &sc->passive_failures,
                                        1);
        }

        /*
         * A check the guard holds back (down by its probes, "the prober's
         * network is broken") still listens to traffic that cannot connect
         * either, or that fails the way its probes fail (a total outage by
         * hang times out both): the traffic leaves from the same nginx, so
         * it disproves the guard's premise.  Only traffic to the host:port
         * the check probes ("matching"): a widget no check probes that
         * times out or answers garbage under the shop's location says
         * nothing about the shop, nor about the prober's network.
         */
        held = (shm->guard_active
                && sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
                && ngx_http_outage_check_down_by_probe(sc->reason,
                                                       sc->reason_len)
                && (direct
                    || (matching
                        && ngx_http_outage_passive_confirms(cause,
                                                            sc->probe_error))));

        if (sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
            && sc->key == ck->key)
        {
            ngx_http_outage_passive_renew(sc, direct, failed);
        }

        if ((sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN && !held)
            || sc->key != ck->key)
        {
            continue;
        }

        if (!ngx_http_outage_passive_count(&sc->passive, ck->passive_min,
                                           ck->passive_ratio,
                                           ck->passive_window,
                                           /* a clock stepped back */
                                           ngx_min(sc->since, now),
                                           now, failed))
        {
            continue;
        }

        if (cause) {
            len = ngx_snprintf(text, sizeof(text), "upstream %ui (%s)",
                               status, cause)
                  - text;

        } else {
            len = ngx_snprintf(text, sizeof(text), "upstream answered %ui",
                               status)
                  - text;
        }

        ngx_http_outage_shm_lock();

        /*
         * Only a worker of the newest configuration writes: after a reload
         * an old worker's slot may already belong to another check.
         */
        plen = 0;

        down = (direct
                && sc->health != NGX_HTTP_OUTAGE_HEALTH_DOWN
                && sc->key == ck->key
                && ngx_http_outage_shm_current());

        held = (held && shm->guard_active
                && sc->health == NGX_HTTP_OUTAGE_HEALTH_DOWN
                && sc->key == ck->key
                && ngx_http_outage_check_down_by_probe(sc->reason,
                                                       sc->reason_len)
                && ngx_http_outage_shm_current());

        if (held) {
            /* "passive: <traffic>; check: <the probes' text>" */
            plen = sc->reason_len;
            k = (plen >= sizeof("check: ") - 1
                 && ngx_strncmp(sc->reason, "check: ",
                                sizeof("check: ") - 1) == 0)
                ? sizeof("check: ") - 1 : 0;

            /* or after the "; check: " of an earlier confirmed take-down */
            for (j = 0; k == 0 && j + sizeof("; check: ") - 1 <= plen; j++) {
                if (ngx_strncmp(sc->reason + j, "; check: ",
                                sizeof("; check: ") - 1) == 0)
                {
                    k = j + sizeof("; check: ") - 1;
                }
            }

            plen -= k;
            ngx_memcpy(probe, sc->reason + k, plen);

            sc->reason_len = ngx_snprintf(sc->reason,
                                          NGX_HTTP_OUTAGE_ERR_MAX,
                                          "passive: %*s; check: %*s",
                                          len, text, plen, probe)
                             - sc->reason;
            sc->passive.streak = 0;

            /* the guard is off until a target stops failing */
            shm->guard_disproved = 1;
            evidence.data = disproof;
            evidence.len = ngx_snprintf(disproof, sizeof(disproof),
                                        "check \"%V\" (#%ui): passive: %*s",
                                        &names[ck->scope], i, len, text)
                           - disproof;
            guard = ngx_http_outage_health_guard(omcf, shm, &evidence);

            ngx_http_outage_shm_bump(shm);

        } else if (down) {
            if (sc->health != NGX_HTTP_OUTAGE_HEALTH_UNKNOWN) {
                sc->transitions++;
            }

            sc->health = NGX_HTTP_OUTAGE_HEALTH_DOWN;
            sc->since = now;

            /* "rise" passing probes from now on bring it up */
            sc->passes = 0;
            sc->confirm = 0;
            sc->reason_len = ngx_http_outage_health_reason(sc->reason,
                                                           "passive", text,
                                                           len);

            /* the take-down is the first of its evidence */
            sc->renewed = ngx_current_msec;
            sc->renewed_seen = 1;
            sc->passive.streak = 0;

            /*
             * While the guard holds the others back, this take-down
             * disproves it only when this check's own probes fail too
             * (ngx_http_outage_health_count(): "traffic"), and for as long
             * as they do: traffic to a check whose probes pass does not
             * fail "like the probes".
             */
            guard = ngx_http_outage_health_guard(omcf, shm, NULL);

            ngx_http_outage_shm_bump(shm);

        } else {
            guard = 0;
        }

        /* the probe path's rule: a take-down Redis' "ok" keeps silent */
        silenced = ((held || down)
                    && ngx_http_outage_health_silenced(omcf, shm, ck->scope,
                                                       now));

        /*
         * Otherwise the streak starts again, so that a probe that passes
         * is followed by a new streak, not by a request per failure.
         */
        ask = (!direct
               && sc->health != NGX_HTTP_OUTAGE_HEALTH_DOWN
               && sc->key == ck->key
               && ngx_http_outage_shm_current());

        if (ask) {
            sc->confirm = 1;
            ngx_memcpy(sc->confirm_text, text, len);
            sc->confirm_len = len;
            sc->passive.streak = 0;
        }

        ngx_http_outage_shm_unlock();

        level = silenced ? NGX_LOG_WARN : NGX_LOG_ERR;
        rlen = ngx_http_outage_passive_rule_text(rule, sizeof(rule), ck);

        if (held) {
            ngx_log_error(level, r->connection->log, 0,
                          "outage: check \"%V\" (#%ui) is down: passive: %*s; "
                          "check: %*s (real traffic fails like the probes: "
                          "not held back by the all-checks-failing guard)"
                          "%*s%s",
                          &names[ck->scope], i, len, text, plen, probe,
                          wlen, where,
                          silenced ? NGX_HTTP_OUTAGE_SILENCED : "");

            ngx_http_outage_health_guard_log(r->connection->log, omcf, guard);
        }

        if (down) {
            ngx_log_error(level, r->connection->log, 0,
                          "outage: check \"%V\" (#%ui) is down: passive: %*s "
                          "(%*s; nginx never reached the peer, no probe "
                          "needed)%*s%s",
                          &names[ck->scope], i, len, text, rlen, rule,
                          wlen, where,
                          silenced ? NGX_HTTP_OUTAGE_SILENCED : "");

            ngx_http_outage_health_guard_log(r->connection->log, omcf, guard);
        }

        if (ask) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "outage: check \"%V\" (#%ui): passive: %*s "
                          "(%*s), probing now to confirm%*s",
                          &names[ck->scope], i, len, text, rlen, rule,
                          wlen, where);
        }
    }

    if (lost && !charged) {
        ngx_http_outage_passive_unowned_log(r, omcf, scopes, status, cause,
                                            peer);
    }
}


/*
 * Failed traffic to an address no check of the location's scopes probes:
 * counted for no check, said at most once a minute by each worker, with
 * the peer (log only) and the scopes, so that the on-call knows which
 * dependency nobody checks.
 */

static void
ngx_http_outage_passive_unowned_log(ngx_http_request_t *r,
    ngx_http_outage_main_conf_t *omcf, ngx_array_t *scopes,
    ngx_uint_t status, const char *cause, ngx_str_t *peer)
{
    u_char          *p, *last, list[256],
                     where[NGX_HTTP_OUTAGE_PEER_TAIL_LEN];
    size_t           wlen;
    time_t           now;
    ngx_str_t       *names;
    ngx_uint_t       j, *ids;
    static time_t    told;

    now = ngx_time();

    if (told && now - told < 60 && now >= told) {
        return;
    }

    told = now;

    names = omcf->scopes.elts;
    ids = scopes->elts;
    p = list;
    last = list + sizeof(list);

    /* scope names are [A-Za-z0-9_.-]: nothing needs escaping */
    for (j = 0; j < scopes->nelts; j++) {
        p = ngx_slprintf(p, last, "%s\"%V\"", j ? ", " : "",
                         &names[ids[j]]);
    }

    wlen = ngx_http_outage_passive_peer_tail(where, sizeof(where), peer);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "outage: passive: upstream %ui%s%s%s%*s under a location "
                  "paging %*s: no check of these scopes probes that "
                  "host:port, so it counts for no check (no probe asked, "
                  "no take-down, the guard unchanged); an outage_check "
                  "probing it would watch it (said at most once a minute)",
                  status, cause ? " (" : "", cause ? cause : "",
                  cause ? ")" : "", wlen, where, p - list, list);
}


/*
 * A keyed fingerprint of an upstream "host:port", case-insensitive; 0 for
 * none.  The key is a random word of the check's slot: a visitor who knows
 * a name that works cannot compute another name with its fingerprint.
 */

static uint64_t
ngx_http_outage_passive_fingerprint(uint32_t key, ngx_str_t *name)
{
    u_char    buf[sizeof(uint32_t) + NGX_HTTP_OUTAGE_PASSIVE_NAME_MAX
                  + sizeof(":65535")];
    size_t    n;
    uint64_t  fp;

    if (key == 0 || name == NULL || name->len == 0
        || name->len > NGX_HTTP_OUTAGE_PASSIVE_NAME_MAX + sizeof(":65535") - 1)
    {
        return 0;
    }

    n = sizeof(uint32_t) + name->len;
    ngx_memcpy(buf, &key, sizeof(uint32_t));
    ngx_strlow(buf + sizeof(uint32_t), name->data, name->len);

    fp = ((uint64_t) ngx_crc32_short(buf, n) << 32) | ngx_murmur_hash2(buf, n);

    return fp ? fp : 1;
}


/*
 * A name through which a request charged to the check got an answer from a
 * peer.  The set is read without the lock (a torn read only makes a name
 * look new); the lock is taken only to add a name.  Once the set is full,
 * one name is replaced per second at most: a site with many tenants' names
 * would otherwise take the lock at every request.
 */

static void
ngx_http_outage_passive_name_record(ngx_http_outage_shm_check_t *sc,
    uint32_t key, ngx_str_t *name, time_t now)
{
    uint64_t    fp;
    ngx_uint_t  i, empty;

    fp = ngx_http_outage_passive_fingerprint(sc->names_key, name);

    if (fp) {
        empty = 0;

        for (i = 0; i < NGX_HTTP_OUTAGE_PASSIVE_NAMES; i++) {
            if (sc->names[i] == fp) {
                return;
            }

            empty |= (sc->names[i] == 0);
        }

        if (!empty && sc->names_replaced == now) {
            return;
        }

    } else if (sc->names_key != 0) {
        return;
    }

    ngx_http_outage_shm_lock();

    if (sc->key == key && ngx_http_outage_shm_current()) {
        if (sc->names_key == 0) {
            sc->names_key = (uint32_t) ngx_random() | 1;
        }

        fp = ngx_http_outage_passive_fingerprint(sc->names_key, name);

        for (i = 0; fp && i < NGX_HTTP_OUTAGE_PASSIVE_NAMES; i++) {
            if (sc->names[i] == fp) {
                fp = 0;
            }
        }

        for (i = 0; fp && i < NGX_HTTP_OUTAGE_PASSIVE_NAMES; i++) {
            if (sc->names[i] == 0) {
                sc->names[i] = fp;
                fp = 0;
            }
        }

        if (fp && sc->names_replaced != now) {
            i = sc->names_next % NGX_HTTP_OUTAGE_PASSIVE_NAMES;
            sc->names[i] = fp;
            sc->names_next = i + 1;
            sc->names_replaced = now;
        }
    }

    ngx_http_outage_shm_unlock();
}


static ngx_uint_t
ngx_http_outage_passive_name_seen(ngx_http_outage_shm_check_t *sc,
    ngx_str_t *name)
{
    uint64_t    fp;
    ngx_uint_t  i;

    fp = ngx_http_outage_passive_fingerprint(sc->names_key, name);

    for (i = 0; fp && i < NGX_HTTP_OUTAGE_PASSIVE_NAMES; i++) {
        if (sc->names[i] == fp) {
            return 1;
        }
    }

    return 0;
}


/*
 * "host:port" as nginx names a peer or an upstream's host: where its port
 * starts (NULL without a host and a ":"), and the check's own host and
 * port to compare it with.
 */

static u_char *
ngx_http_outage_passive_port(ngx_http_outage_check_conf_t *ck,
    ngx_str_t *name, ngx_str_t *host, in_port_t *port)
{
    u_char  *p;

    for (p = name->data + name->len; p > name->data && p[-1] != ':'; p--) {
        /* void */
    }

    if (p <= name->data + 1) {
        return NULL;
    }

    ngx_http_outage_url_target(&ck->url, host, port);

    return p;
}


/*
 * Whether the check probes the peer nginx tried (its host:port): by the
 * addresses written in the configuration, or by
 * those its last probe was handed at run time (the slot's target keys: a
 * name only nginx's resolver knows, or one that moved since the reload),
 * as the guard compares them.  The keys are read without the lock: a torn
 * read only misses a match.
 */

static ngx_uint_t
ngx_http_outage_passive_probes(ngx_http_outage_check_conf_t *ck,
    ngx_http_outage_shm_check_t *sc, ngx_str_t *peer)
{
    u_char      *p;
    uint64_t     key;
    in_port_t    port;
    ngx_int_t    n;
    ngx_str_t    host;
    ngx_uint_t   i;

    if (ngx_http_outage_check_probes_peer(&ck->url, &ck->resolve, peer)) {
        return 1;
    }

    if (peer == NULL || sc->key != ck->key) {
        return 0;
    }

    p = ngx_http_outage_passive_port(ck, peer, &host, &port);

    if (p == NULL) {
        return 0;
    }

    n = ngx_atoi(p, peer->data + peer->len - p);

    if (n != (ngx_int_t) port) {
        return 0;
    }

    key = ngx_http_outage_check_key(peer->data, p - 1 - peer->data, port);

    for (i = 0; i < sc->ntargets && i < NGX_HTTP_OUTAGE_CHECK_ADDRS; i++) {
        if (sc->targets[i] == key) {
            return 1;
        }
    }

    return 0;
}


/*
 * Whether a name seen answering that nginx cannot resolve any more is the
 * check's dependency itself: the only name seen (a constant "set $up
 * app.internal"), or the host of the check's own URL.  With several names
 * seen (tenants, names from request data) one that stopped resolving is
 * that name's problem: its owner deleted it, or an attacker who pointed
 * its own domain at the site for one request did.
 */

static ngx_uint_t
ngx_http_outage_passive_name_own(ngx_http_outage_check_conf_t *ck,
    ngx_http_outage_shm_check_t *sc, ngx_str_t *name)
{
    u_char      *p;
    in_port_t    port;
    ngx_str_t    host;
    ngx_uint_t   i, n;

    if (!ngx_http_outage_passive_name_seen(sc, name)) {
        return 0;
    }

    n = 0;

    for (i = 0; i < NGX_HTTP_OUTAGE_PASSIVE_NAMES; i++) {
        n += (sc->names[i] != 0);
    }

    if (n == 1) {
        return 1;
    }

    p = ngx_http_outage_passive_port(ck, name, &host, &port);

    if (p == NULL) {
        return 0;
    }

    return host.len == (size_t) (p - 1 - name->data)
           && ngx_strncasecmp(host.data, name->data, host.len) == 0;
}


/*
 * "scheme://host[:port]/..." of a check: the host as written (brackets of
 * an IPv6 literal kept) and the port, the scheme's by default.  Pure: the
 * guard and the passive charge compare probe targets with it.
 */

void
ngx_http_outage_url_target(ngx_str_t *url, ngx_str_t *host, in_port_t *port)
{
    u_char     *p, *last, *h;
    ngx_int_t   n;

    p = url->data;
    last = url->data + url->len;
    *port = 80;

    if (url->len >= 8 && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0) {
        *port = 443;
        p += 8;

    } else if (url->len >= 7
               && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0)
    {
        p += 7;
    }

    h = p;

    if (p < last && *p == '[') {
        while (p < last && *p != ']') {
            p++;
        }

        if (p < last) {
            p++;
        }

    } else {
        while (p < last && *p != ':' && *p != '/' && *p != '?' && *p != '#')
        {
            p++;
        }
    }

    host->data = h;
    host->len = p - h;

    if (p < last && *p == ':') {
        h = ++p;

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }

        n = ngx_atoi(h, p - h);

        if (n > 0 && n <= 65535) {
            *port = (in_port_t) n;
        }
    }
}


/*
 * Whether a check probes the address nginx tried ("addr:port" as in
 * $upstream_addr, IPv6 in brackets): its URL's literal host, or one of the
 * addresses its host name resolved to ("host:port:addr,addr", the
 * CURLOPT_RESOLVE entry), with the same port.
 */

ngx_uint_t
ngx_http_outage_check_probes_peer(ngx_str_t *url, ngx_str_t *resolve,
    ngx_str_t *peer)
{
    u_char     *p, *last, *a;
    in_port_t   port;
    ngx_int_t   n;
    ngx_str_t   host, addr;

    if (peer == NULL || peer->len == 0) {
        return 0;
    }

    for (p = peer->data + peer->len; p > peer->data && p[-1] != ':'; p--) {
        /* void */
    }

    if (p == peer->data) {
        return 0;
    }

    n = ngx_atoi(p, peer->data + peer->len - p);
    addr.data = peer->data;
    addr.len = p - 1 - peer->data;

    ngx_http_outage_url_target(url, &host, &port);

    if (n != (ngx_int_t) port || addr.len == 0) {
        return 0;
    }

    if (host.len == addr.len
        && ngx_strncasecmp(host.data, addr.data, addr.len) == 0)
    {
        return 1;
    }

    if (resolve == NULL || resolve->len == 0) {
        return 0;
    }

    /* past "host:port:" */
    last = resolve->data + resolve->len;
    p = ngx_strlchr(resolve->data, last, ':');
    p = p ? ngx_strlchr(p + 1, last, ':') : NULL;

    if (p == NULL) {
        return 0;
    }

    for (a = ++p; p <= last; p++) {
        if (p == last || *p == ',') {
            if ((size_t) (p - a) == addr.len
                && ngx_strncasecmp(a, addr.data, addr.len) == 0)
            {
                return 1;
            }

            a = p + 1;
        }
    }

    return 0;
}
