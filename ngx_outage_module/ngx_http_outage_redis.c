
/*
 * ngx_outage_module: incident state from Redis.
 *
 * Owns the "outage_redis" directive and the poller: the worker that holds
 * the Redis lease sends one pipelined MULTI / GET+HGETALL per scope / EXEC
 * every interval and writes the validated result into the zone.  Failures
 * keep the last good state and are logged once per condition.
 *
 * The connection is nginx's own (ngx_event_connect_peer, nginx events and
 * timers; the descriptor belongs to nginx).  hiredis only formats the
 * commands (once per process) and parses replies, through a reader whose
 * object functions refuse, before allocating anything proportional to an
 * announced length, what the poll cannot legitimately produce: see
 * "bounded replies" below and docs/redis.md#limits.
 *
 * Push: the same worker keeps a second connection (same code, its own
 * instance) that asks Redis 6+ to track the prefix for it
 * (CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX <prefix>) and then
 * SUBSCRIBEs to __redis__:invalidate, which is how RESP2 delivers the
 * invalidations.  A message only makes the poller poll now (at most every
 * NGX_HTTP_OUTAGE_REDIS_KICK_MIN ms): what is shown always comes from a
 * poll, and polling stays the safety net when push is refused or lost.
 */


#include "ngx_http_outage_module.h"
#include "ngx_http_outage_resp.h"

#include <hiredis/hiredis.h>


/*
 * Limits of one reply (docs/redis.md#limits).  The message is cut to 512
 * bytes anyway; 64 KB for one value leaves room for any honest key.
 */
#define NGX_HTTP_OUTAGE_REDIS_VALUE_MAX   65536    /* one string, error... */
#define NGX_HTTP_OUTAGE_REDIS_NESTED_MAX  128      /* elements of a hash */
#define NGX_HTTP_OUTAGE_REDIS_DEPTH_MAX   2
/*
 * A key's own size must not refuse the whole poll (every scope would keep
 * its old state): inside EXEC a longer value is cut to VALUE_MAX and a
 * longer hash keeps only the fields the payload reads, up to these caps,
 * beyond which the reply is refused as not Redis's.
 */
#define NGX_HTTP_OUTAGE_REDIS_BULK_MAX    (512 * 1024)
/*
 * Elements of a hash: as many as hiredis's reader can count (its task's
 * index is an int), a billion fields.  Only the fields the payload reads
 * are kept, whatever their number, so a legal hash of any real size is
 * read (it was refused past 8192 fields, freezing every scope); the time
 * it takes is timeout='s.
 */
#define NGX_HTTP_OUTAGE_REDIS_FIELDS_CAP  ((size_t) NGX_MAX_INT32_VALUE)
#define NGX_HTTP_OUTAGE_REDIS_REPLY_MAX   (1024 * 1024)   /* memory, total */
/*
 * Memory kept of one scope's GET, HGETALL and PTTL answers: room for the
 * seven known fields and the first pair, each cut to VALUE_MAX (only case
 * variants of a known name, as "Message", pass it).
 * Beyond
 * it, or with a value over BULK_MAX (walked, not kept), that scope keeps
 * its last good state; the other scopes are read as usual.
 */
#define NGX_HTTP_OUTAGE_REDIS_KEY_MAX     (8 * (65536 + 256) + 8192)

/* why a scope's answer was not kept (rd->over_why) */
#define NGX_HTTP_OUTAGE_REDIS_OVER_KEY    1        /* past KEY_MAX */
#define NGX_HTTP_OUTAGE_REDIS_OVER_VALUE  2        /* a value past BULK_MAX */
#define NGX_HTTP_OUTAGE_REDIS_OVER_TYPE   3        /* a hash of non-strings */
#define NGX_HTTP_OUTAGE_REDIS_READ_CHUNK  16384
/*
 * A poll's reply that is arriving (bytes came within the last timeout=)
 * is given more time, but never more than this many timeout= from the
 * write: a Redis or path that drips a byte just under the deadline cannot
 * hold the poll, and the state it reads, for longer.
 */
#define NGX_HTTP_OUTAGE_REDIS_REPLY_CAP   10
/* bytes read per event before the worker turns to its other events */
#define NGX_HTTP_OUTAGE_REDIS_READ_BUDGET (16 * NGX_HTTP_OUTAGE_REDIS_READ_CHUNK)

/*
 * The poll's EXEC answers, per scope: GET, HGETALL and PTTL of its key (the
 * key's expiry, so that nginx ends what Redis would have ended even while
 * it cannot read Redis).
 */
#define NGX_HTTP_OUTAGE_REDIS_PER_SCOPE   3

/* what the next reply answers, in the order the commands were sent */
#define NGX_HTTP_OUTAGE_REDIS_AUTH        0
#define NGX_HTTP_OUTAGE_REDIS_SELECT      1
#define NGX_HTTP_OUTAGE_REDIS_QUEUED      2        /* MULTI, GET, HGETALL */
#define NGX_HTTP_OUTAGE_REDIS_EXEC        3
#define NGX_HTTP_OUTAGE_REDIS_QUEUED_PTTL 8        /* may be refused (ACL) */
/*
 * The server's own word on what it serves, asked before MULTI (INFO is one
 * bulk string, bounded like any value): at connect its eviction policy, at
 * each poll whether it is a replica cut off from its primary, its
 * replication id (a restart or failover changes it), and how many keys it
 * has evicted.  A server that refuses INFO (an ACL without +info)
 * is polled as before, said once.
 */
#define NGX_HTTP_OUTAGE_REDIS_INFO_MEMORY 9
#define NGX_HTTP_OUTAGE_REDIS_INFO_REPL   10
#define NGX_HTTP_OUTAGE_REDIS_INFO_STATS  11
/* the first address is tried again after this long on a later one */
#define NGX_HTTP_OUTAGE_REDIS_PREFER_MIN  30000
#define NGX_HTTP_OUTAGE_REDIS_PREFER_MAX  300000

/* the push link's replies, in order */
#define NGX_HTTP_OUTAGE_REDIS_CLIENT_ID   4
#define NGX_HTTP_OUTAGE_REDIS_TRACKING    5
#define NGX_HTTP_OUTAGE_REDIS_SUBSCRIBE   6
#define NGX_HTTP_OUTAGE_REDIS_MESSAGE     7

/* a storm of invalidations polls at most this often */
#define NGX_HTTP_OUTAGE_REDIS_KICK_MIN    50
/* with no poll link open, push messages reconnect at most this often */
#define NGX_HTTP_OUTAGE_REDIS_KICK_CONNECT  1000
/* elements of one invalidation message's key list (BCAST batches keys) */
#define NGX_HTTP_OUTAGE_REDIS_KEYS_MAX    1024
/*
 * An invalidation beyond what the reader takes (a key name over 64 KB,
 * more than 1024 keys, more than 512 KB in all, which with the objects of
 * 1027 elements stays under NGX_HTTP_OUTAGE_REDIS_REPLY_MAX) is walked to
 * its end without being kept and read as "something changed".  Beyond
 * 32 MB (the hard limit of Redis's default client-output-buffer-limit for
 * pubsub) it is not an invalidation any more: the link is dropped.
 */
#define NGX_HTTP_OUTAGE_REDIS_MESSAGE_MAX  (512 * 1024)
#define NGX_HTTP_OUTAGE_REDIS_SKIP_MAX    (32 * 1024 * 1024)
/* skipped invalidations are logged at most this often */
#define NGX_HTTP_OUTAGE_REDIS_SKIP_LOG    60000
/* reconnect backoff of the push link; a refusal is asked again rarely */
#define NGX_HTTP_OUTAGE_REDIS_PUSH_MIN    200
#define NGX_HTTP_OUTAGE_REDIS_PUSH_MAX    30000
#define NGX_HTTP_OUTAGE_REDIS_PUSH_REFUSED  60000
/* a push link up this long has recovered: backoff and log start afresh */
#define NGX_HTTP_OUTAGE_REDIS_PUSH_STABLE   10000
/* state changes of one scope said in a window; beyond: counted, summed up */
#define NGX_HTTP_OUTAGE_REDIS_FLAP_LINES    5
#define NGX_HTTP_OUTAGE_REDIS_FLAP_WINDOW   10000
/* the message quoted in a change's line (the status JSON has it whole) */
#define NGX_HTTP_OUTAGE_REDIS_FLAP_QUOTE    120

/* a name is asked again at most this often (doubling while DNS fails) */
#define NGX_HTTP_OUTAGE_REDIS_RESOLVE_MIN  2000
#define NGX_HTTP_OUTAGE_REDIS_RESOLVE_MAX  30000

#define NGX_HTTP_OUTAGE_REDIS_CHANNEL     "__redis__:invalidate"


#if (NGX_SSL)

/* outage_redis tls parameters, in the style of proxy_ssl_* */
typedef struct {
    ngx_ssl_t                    *ssl;
    ngx_str_t                     name;       /* tls_name=; SNI, verify */
    ngx_str_t                     trusted;    /* tls_trusted_certificate= */
    ngx_str_t                     certificate;
    ngx_str_t                     certificate_key;
    ngx_uint_t                    protocols;
    ngx_flag_t                    verify;
    ngx_str_t                     first;      /* first tls_ parameter seen */
} ngx_http_outage_redis_tls_t;

#endif


/*
 * Where an address of outage_redis points now.  A host name is resolved
 * when the configuration is read; with nginx's "resolver" (http level) it
 * is resolved again before reconnecting after a failure of that address,
 * so that a managed Redis's failover to a new IP is followed.
 */

typedef struct {
    ngx_str_t                     host;       /* a name; empty: IP or unix */
    in_port_t                     port;
    ngx_uint_t                    stale;      /* resolve before connecting */
    ngx_uint_t                    pick;       /* rotates among A records */
    ngx_int_t                     told;       /* resolver error logged */
    ngx_resolver_ctx_t           *ctx;        /* a resolution in flight */
    ngx_msec_t                    asked;      /* when last asked */
    ngx_msec_t                    every;      /* 0: ask at the next failure */
    ngx_uint_t                    gen;        /* bumped when it moves */
    ngx_sockaddr_t                sockaddr;   /* the address to connect to */
    socklen_t                     socklen;
    ngx_str_t                     text;       /* sockaddr, for the log */
    u_char                        text_buf[NGX_SOCKADDR_STRLEN];
} ngx_http_outage_redis_name_t;


/*
 * A budget of log lines (FLAP_LINES per FLAP_WINDOW) for something that
 * may flip fast: a scope's state, the poll link itself.  Past the budget
 * the lines are counted, and said in one summary when the window is over.
 */

typedef struct {
    ngx_msec_t                    start;      /* of the window */
    ngx_uint_t                    said;       /* lines said in it */
    ngx_uint_t                    quiet;      /* counted: changes, downs */
    ngx_uint_t                    hushed;     /* counted: other lines, ups */
} ngx_http_outage_redis_window_t;


typedef struct {
    ngx_http_outage_main_conf_t  *omcf;
    ngx_peer_connection_t         pc;         /* pc.connection: the link */
    redisReader                  *reader;     /* one per connection */
    ngx_pool_t                   *pool;       /* reply objects, reset after
                                                 each reply */
    ngx_uint_t                    addr;       /* current address index */
    ngx_uint_t                    in_flight;
    ngx_msec_t                    sent;       /* the poll written at */
    ngx_msec_t                    progress;   /* its reply's last bytes at */
    ngx_uint_t                    epoch;      /* of the lease, at send */
    ngx_uint_t                    connected;
    ngx_uint_t                    owner;
    ngx_event_t                   tick;
    ngx_event_t                   deadline;   /* connect + reply timeout */
    ngx_connection_t              dummy;      /* timers' ev->data */
    ngx_log_t                    *log;
    ngx_log_t                     quiet;      /* nginx's per-attempt lines */
    u_char                        said[120];  /* the last of those lines */
    size_t                        said_len;
    u_char                        tls_said[120];  /* OpenSSL's last reason */
    size_t                        tls_said_len;
    ngx_uint_t                    ready;      /* connected (and TLS done) */

    /* the commands, formatted once per process: setup, then the poll */
    u_char                       *cmds;
    size_t                        setup_len;
    size_t                        cmds_len;
    u_char                       *send_pos;
    u_char                       *send_last;

    /* the replies expected for cmds, in order; [nsetup] starts the poll */
    u_char                       *kinds;
    ngx_uint_t                    nkinds;
    ngx_uint_t                    nsetup;
    ngx_uint_t                    next_kind;

    /* bounded replies */
    size_t                        used;       /* memory of the current reply */
    ngx_uint_t                    max_top;    /* elements of a top array */
    u_char                        refused[96 + 64];
    size_t                        refused_len;

    unsigned                      bad[NGX_HTTP_OUTAGE_MAX_SCOPES];

    ngx_uint_t                    max_nested; /* elements of inner arrays */
    ngx_uint_t                    per_scope;  /* EXEC elements of a scope */
    uint32_t                      source;     /* this outage_redis (shm.c) */
    ngx_uint_t                    pttl_refused;

    /* the poll's EXEC reply being read: per key, not per reply */
    ngx_uint_t                    in_exec;
    ngx_uint_t                    exec_next;  /* its next element */
    size_t                        nested_left; /* of the hash being read */
    redisReply                   *compact;    /* a hash kept in part */
    size_t                        compact_n;  /* elements it announced */
    ngx_uint_t                    name_known; /* of the string being made */
    ngx_uint_t                    keep_value; /* its field name was kept */
    unsigned                      cut[NGX_HTTP_OUTAGE_MAX_SCOPES];
    ngx_uint_t                    exec_cur;   /* the element being read */
    size_t                        kept[NGX_HTTP_OUTAGE_MAX_SCOPES];
    size_t                        over[NGX_HTTP_OUTAGE_MAX_SCOPES];
    ngx_uint_t                    over_why[NGX_HTTP_OUTAGE_MAX_SCOPES];

    /* the poll link: state changes said per scope, see said_change() */
    ngx_http_outage_redis_window_t  flap[NGX_HTTP_OUTAGE_MAX_SCOPES];

    /* the poll link: its own up and down lines, see link_said() */
    ngx_http_outage_redis_window_t  link;

    /* the poll link: what INFO says of the server, see info() */
    ngx_uint_t                    info_told;  /* INFO refused: said (1),
                                                 not asked any more (2) */
    ngx_uint_t                    evicted_known;  /* evicted_keys read on
                                                     this link */
    uint64_t                      evicted;    /* at the last poll */
    uint64_t                      evicted_now; /* at this poll */
    u_char                        policy[32]; /* maxmemory_policy said */
    size_t                        policy_len;
    ngx_msec_t                    prefer_at;  /* back to the first address
                                                 then; 0: not planned */
    ngx_msec_t                    prefer_every;
    ngx_uint_t                    preferring; /* this link is the return */
    ngx_uint_t                    on_replica; /* role:slave, link up, at
                                                 the last INFO */
    ngx_uint_t                    evicted_addr;  /* whose count evicted is */
    u_char                        replid[64];  /* master_replid at the
                                                  last poll, any address */
    size_t                        replid_len;  /* 0: not known */
    u_char                        replid_now[64];  /* at this poll */
    size_t                        replid_now_len;
    ngx_event_t                   flap_end;   /* the first window with
                                                 lines counted ends */
    ngx_uint_t                    link_tell;  /* say the next, said or not */
    ngx_uint_t                    link_up;    /* the last line counted */
    u_char                        link_now[NGX_HTTP_OUTAGE_ERR_MAX + 320];
    size_t                        link_now_len;

    /* the poll link: strings over BULK_MAX taken out before the reader */
    ngx_http_outage_resp_cut_t    cutter;
    size_t                        skip_len;   /* the one stood in for */

    /*
     * The poll link: the condition last said for each address, valid while
     * no poll succeeded since (said_polls), so that addresses failing in
     * turn are said once each, not at every poll.
     */
    uint32_t                     *said_crc;
    ngx_uint_t                    said_polls;

    /* the poll link: addresses as resolved now (the push link uses them) */
    ngx_http_outage_redis_name_t *names;
    ngx_resolver_t               *resolver;   /* NULL: names resolved once */
    ngx_msec_t                    resolver_timeout;

    /* the poll link: polls asked for by push messages */
    ngx_event_t                   soon;
    ngx_msec_t                    last_kick;  /* when the last poll asked
                                                 for by push started */
    ngx_uint_t                    again;      /* poll again after this one */
    ngx_uint_t                    gen;        /* the name's gen connected to */
    ngx_uint_t                    resolving;  /* inside connect()'s lookup */
    ngx_msec_t                    last_connect; /* when the poll link was
                                                   last opened */

    /* the push link (tick is its reconnect timer) */
    ngx_uint_t                    push;
    ngx_uint_t                    pstate;     /* the reply expected next */
    ngx_msec_t                    backoff;
    ngx_msec_t                    up_since;   /* subscribed at; 0: not */
    ngx_uint_t                    told_on;
    u_char                        track[256]; /* TRACKING and SUBSCRIBE */
    u_char                        push_said[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                        push_said_len;

    /* the push link: where its replies end, and those skipped */
    ngx_http_outage_resp_t        walk;
    ngx_uint_t                    skipping;   /* the reply being walked */
    ngx_uint_t                    ends;       /* replies ended: a count */
    ngx_uint_t                    skipped;    /* since the last log line */
    ngx_msec_t                    skip_told;  /* when that line was */
    ngx_uint_t                    skip_ever;
    ngx_event_t                   skip_later; /* tells those not told */
    u_char                        skip_reason[96]; /* of the last one */

    /* the push link: silent for ping=, it is asked; see push_ping() */
    ngx_event_t                   ping;       /* idle, then the reply's */
    ngx_uint_t                    pinged;     /* a PING awaits its reply */
    ngx_uint_t                    ping_told;  /* a refused PING was said */
} ngx_http_outage_redis_t;


static void ngx_http_outage_redis_tick(ngx_event_t *ev);
static void ngx_http_outage_redis_unpolled(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_outage_redis_connect(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_close(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_drop(ngx_http_outage_redis_t *rd,
    const char *what, const char *detail, size_t len);
static void ngx_http_outage_redis_lost(ngx_http_outage_redis_t *rd);
static ngx_int_t ngx_http_outage_redis_info(ngx_http_outage_redis_t *rd,
    ngx_uint_t kind, redisReply *reply);
static size_t ngx_http_outage_redis_info_word(redisReply *reply,
    const char *name, u_char **v);
static void ngx_http_outage_redis_poll(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_read_handler(ngx_event_t *rev);
static void ngx_http_outage_redis_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_http_outage_redis_connected(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_log_writer(ngx_log_t *log, ngx_uint_t level,
    u_char *buf, size_t len);
#if (NGX_SSL)
static ngx_int_t ngx_http_outage_redis_tls_param(ngx_conf_t *cf,
    ngx_http_outage_redis_tls_t **tlsp, ngx_str_t *v);
static ngx_int_t ngx_http_outage_redis_tls_file(ngx_conf_t *cf,
    const char *what, ngx_str_t *path);
static ngx_int_t ngx_http_outage_redis_tls_init(ngx_conf_t *cf,
    ngx_http_outage_redis_tls_t *tls);
static void ngx_http_outage_redis_tls_start(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_tls_done(ngx_connection_t *c);
static void ngx_http_outage_redis_tls_error(ngx_http_outage_redis_t *rd);
#endif
static ngx_int_t ngx_http_outage_redis_feed(ngx_http_outage_redis_t *rd,
    u_char *buf, size_t n);
static ngx_int_t ngx_http_outage_redis_parse(ngx_http_outage_redis_t *rd);
static ngx_int_t ngx_http_outage_redis_reader_feed(ngx_http_outage_redis_t *rd,
    u_char *p, size_t n);
static ngx_int_t ngx_http_outage_redis_reply(ngx_http_outage_redis_t *rd,
    redisReply *reply);
static ngx_int_t ngx_http_outage_redis_format(ngx_http_outage_redis_t *rd,
    ngx_cycle_t *cycle);
static void ngx_http_outage_redis_failed(ngx_http_outage_redis_t *rd,
    const char *what, const char *detail, size_t len);
static void ngx_http_outage_redis_ok(ngx_http_outage_redis_t *rd);
static size_t ngx_http_outage_redis_error_len(redisReply *reply);
static u_char *ngx_http_outage_redis_said_what(u_char *p, u_char *last,
    const char *what, const char *detail, size_t len);
static void ngx_http_outage_redis_warn(ngx_http_outage_redis_t *rd,
    ngx_str_t *scope, unsigned warnings);
static void ngx_http_outage_redis_store(ngx_http_outage_redis_t *rd,
    redisReply *reply);
static ngx_int_t ngx_http_outage_redis_init_names(ngx_http_outage_redis_t *rd,
    ngx_cycle_t *cycle);
static ngx_int_t ngx_http_outage_redis_resolve(ngx_http_outage_redis_t *rd,
    ngx_http_outage_redis_name_t *nm);
static void ngx_http_outage_redis_resolved(ngx_resolver_ctx_t *ctx);
static ngx_int_t ngx_http_outage_redis_init_link(ngx_http_outage_redis_t *rd,
    ngx_http_outage_main_conf_t *omcf, ngx_cycle_t *cycle, ngx_uint_t push);
static void ngx_http_outage_redis_timer(ngx_http_outage_redis_t *rd,
    ngx_event_t *ev, ngx_event_handler_pt handler);
static void ngx_http_outage_redis_poll_now(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_kick(void);
static void ngx_http_outage_redis_soon(ngx_event_t *ev);
static ngx_int_t ngx_http_outage_redis_push_format(ngx_http_outage_redis_t *rd,
    ngx_cycle_t *cycle);
static void ngx_http_outage_redis_push_start(void);
static void ngx_http_outage_redis_push_stop(void);
static void ngx_http_outage_redis_push_retry(ngx_event_t *ev);
static ngx_int_t ngx_http_outage_redis_resolver_scope(ngx_conf_t *cf);
static ngx_uint_t ngx_http_outage_redis_is_name(
    ngx_http_outage_redis_addr_t *a);
static ngx_http_core_loc_conf_t *ngx_http_outage_redis_resolver_in(
    ngx_http_core_loc_conf_t *clcf, ngx_resolver_t *http);
static ngx_http_core_loc_conf_t *ngx_http_outage_redis_resolver_tree(
    ngx_http_location_tree_node_t *node, ngx_resolver_t *http);
static ngx_int_t ngx_http_outage_redis_new_reader(
    ngx_http_outage_redis_t *rd);
static ngx_int_t ngx_http_outage_redis_push_feed(ngx_http_outage_redis_t *rd,
    u_char *p, size_t n);
static void ngx_http_outage_redis_push_skipped(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_push_skipped_later(ngx_event_t *ev);
static void ngx_http_outage_redis_push_skipped_log(
    ngx_http_outage_redis_t *rd);
static ngx_int_t ngx_http_outage_redis_push_reply(ngx_http_outage_redis_t *rd,
    redisReply *reply);
static void ngx_http_outage_redis_push_failed(ngx_http_outage_redis_t *rd,
    const char *what, const char *detail, size_t len);
static void ngx_http_outage_redis_push_stalled(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_push_ping(ngx_event_t *ev);
static void ngx_http_outage_redis_push_idle(ngx_http_outage_redis_t *rd);
static ngx_int_t ngx_http_outage_redis_push_pong(ngx_http_outage_redis_t *rd,
    redisReply *reply);
static void ngx_http_outage_redis_push_works(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_ready(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_said_change(ngx_http_outage_redis_t *rd,
    ngx_uint_t i, ngx_uint_t from, ngx_http_outage_incident_t *inc,
    uint64_t evicted, ngx_uint_t restarted);
static void ngx_http_outage_redis_said_flaps(ngx_http_outage_redis_t *rd,
    ngx_uint_t i, ngx_uint_t state, ngx_http_outage_incident_t *inc);
static void ngx_http_outage_redis_flaps_now(ngx_http_outage_redis_t *rd,
    ngx_uint_t force);
static ngx_uint_t ngx_http_outage_redis_may_say(ngx_http_outage_redis_t *rd,
    ngx_uint_t i);
static ngx_uint_t ngx_http_outage_redis_scope_now(ngx_uint_t i,
    ngx_http_outage_incident_t *inc);
static void ngx_http_outage_redis_inherited(ngx_http_outage_redis_t *rd,
    ngx_pid_t pid);
static void ngx_http_outage_redis_read_now(ngx_http_outage_redis_t *rd);
static ngx_uint_t ngx_http_outage_redis_window_say(
    ngx_http_outage_redis_window_t *w, ngx_uint_t *count);
static ngx_uint_t ngx_http_outage_redis_window_end(
    ngx_http_outage_redis_window_t *w, ngx_uint_t force);
static void ngx_http_outage_redis_link_said(ngx_http_outage_redis_t *rd,
    ngx_uint_t up, ngx_uint_t level, u_char *text, size_t len);
static void ngx_http_outage_redis_link_flush(ngx_http_outage_redis_t *rd,
    ngx_uint_t force);
static void ngx_http_outage_redis_flap_timer(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_flap_end(ngx_event_t *ev);
static void ngx_http_outage_redis_push_state(ngx_http_outage_redis_t *rd,
    ngx_uint_t state, u_char *error, size_t len);

static void *ngx_http_outage_redis_new(const redisReadTask *task, int type,
    size_t size);
static void *ngx_http_outage_redis_create_string(const redisReadTask *task,
    char *str, size_t len);
#if (HIREDIS_MAJOR >= 1)
static void *ngx_http_outage_redis_create_array(const redisReadTask *task,
    size_t elements);
static void *ngx_http_outage_redis_create_double(const redisReadTask *task,
    double value, char *str, size_t len);
static void *ngx_http_outage_redis_create_bool(const redisReadTask *task,
    int value);
#else
static void *ngx_http_outage_redis_create_array(const redisReadTask *task,
    int elements);
#endif
static void *ngx_http_outage_redis_create_integer(const redisReadTask *task,
    long long value);
static void *ngx_http_outage_redis_create_nil(const redisReadTask *task);
static void ngx_http_outage_redis_free_object(void *obj);
static void ngx_http_outage_redis_pending(ngx_http_outage_redis_t *rd);
static uint64_t ngx_http_outage_redis_expires(redisReply *r);
static void ngx_http_outage_redis_expired(ngx_http_outage_redis_t *rd);
static u_char *ngx_http_outage_redis_refused_key(ngx_http_outage_redis_t *rd,
    u_char *p);
static void ngx_http_outage_redis_refused(ngx_http_outage_redis_t *rd,
    u_char *p);


static ngx_http_outage_redis_t  ngx_http_outage_redis;
/* what the reader reads and does not keep (a note, a key too big) */
static redisReply               ngx_http_outage_redis_dropped;
static ngx_http_outage_redis_t  ngx_http_outage_redis_push_link;

/* where outage_redis was written: its nginx -t warnings point there */
static ngx_conf_file_t          ngx_http_outage_redis_conf_file;


static redisReplyObjectFunctions  ngx_http_outage_redis_functions;

/* what the push link's replies may be, and what is skipped, not read */
static const ngx_http_outage_resp_limits_t  ngx_http_outage_redis_push_limits
    = {
    3,                                        /* ["message", channel, keys] */
    NGX_HTTP_OUTAGE_REDIS_VALUE_MAX,
    NGX_HTTP_OUTAGE_REDIS_KEYS_MAX,
    NGX_HTTP_OUTAGE_REDIS_MESSAGE_MAX,
    NGX_HTTP_OUTAGE_REDIS_SKIP_MAX
};


/* ---- configuration ---------------------------------------------------- */

char *
ngx_http_outage_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_outage_main_conf_t *omcf = conf;

    u_char                        *p;
    ngx_int_t                      n;
    ngx_str_t                     *value, s;
    ngx_url_t                      u;
    ngx_uint_t                     i, k, later;
    ngx_msec_t                     ms, iv, ct;
    ngx_http_outage_redis_addr_t  *a;

    /* the time parameters: name=, where it goes, its least value */
    struct {
        ngx_str_t                  name;
        ngx_msec_t                *to;
        ngx_msec_t                 min;
    } times[] = {
        { ngx_string("interval="), &omcf->redis_interval, 100 },
        { ngx_string("connect_timeout="), &omcf->redis_connect_timeout, 1 },
        { ngx_string("timeout="), &omcf->redis_timeout, 1 },
        { ngx_string("ping="), &omcf->redis_ping, 1000 },
    };
#if (NGX_SSL)
    ngx_int_t                      rc;
    ngx_uint_t                     tls_on;
    ngx_http_outage_redis_tls_t   *tls;

    tls_on = 0;
    tls = NULL;
#endif

    if (omcf->redis_addrs) {
        return "is duplicate";
    }

    omcf->redis_push = 1;

    /* the file's name lives as long as the cycle's pool */
    ngx_http_outage_redis_conf_file = *cf->conf_file;

    omcf->redis_addrs = ngx_array_create(cf->pool, 2,
                                         sizeof(ngx_http_outage_redis_addr_t));
    if (omcf->redis_addrs == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            omcf->redis_password.data = value[i].data + 9;
            omcf->redis_password.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            omcf->redis_user.data = value[i].data + 5;
            omcf->redis_user.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            omcf->redis_prefix.data = value[i].data + 7;
            omcf->redis_prefix.len = value[i].len - 7;

            if (omcf->redis_prefix.len > 64) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_redis\": prefix longer than 64 "
                                   "bytes in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            n = ngx_atoi(value[i].data + 3, value[i].len - 3);
            if (n == NGX_ERROR || n > 65535) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_redis\": invalid database "
                                   "number in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            omcf->redis_db = n;
            continue;
        }

        for (k = 0; k < sizeof(times) / sizeof(times[0]); k++) {
            if (ngx_strncmp(value[i].data, times[k].name.data,
                            times[k].name.len) == 0)
            {
                break;
            }
        }

        if (k < sizeof(times) / sizeof(times[0])) {
            if (ngx_http_outage_conf_msec(cf, &value[i], times[k].name.len,
                                          &ms)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (ms < times[k].min) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_redis\": %*s must be at "
                                   "least %Mms in \"%V\"",
                                   times[k].name.len - 1, times[k].name.data,
                                   times[k].min, &value[i]);
                return NGX_CONF_ERROR;
            }

            *times[k].to = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "push=", 5) == 0) {
            if (value[i].len == 7
                && ngx_strncmp(value[i].data + 5, "on", 2) == 0)
            {
                omcf->redis_push = 1;
                continue;
            }

            if (value[i].len == 8
                && ngx_strncmp(value[i].data + 5, "off", 3) == 0)
            {
                omcf->redis_push = 0;
                continue;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": invalid value in \"%V\", "
                               "expected \"push=on\" or \"push=off\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        if (ngx_strncmp(value[i].data, "max_stale=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
                omcf->redis_max_stale = 0;
                continue;
            }

            omcf->redis_max_stale = ngx_parse_time(&s, 1);
            if (omcf->redis_max_stale == (time_t) NGX_ERROR
                || omcf->redis_max_stale <= 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_redis\": invalid max_stale in "
                                   "\"%V\", expected \"off\" or a positive "
                                   "time", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (value[i].len == 3 && ngx_strncmp(value[i].data, "tls", 3) == 0) {
#if (NGX_SSL)
            tls_on = 1;
            continue;
#else
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": \"tls\" needs nginx built "
                               "with the SSL module");
            return NGX_CONF_ERROR;
#endif
        }

#if (NGX_SSL)
        if (ngx_strncmp(value[i].data, "tls_", 4) == 0) {
            rc = ngx_http_outage_redis_tls_param(cf, &tls, &value[i]);

            if (rc == NGX_ERROR) {
                return NGX_CONF_ERROR;
            }

            if (rc == NGX_OK) {
                continue;
            }

            /* NGX_DECLINED: an unknown parameter, below */
        }
#endif

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            && ngx_strncmp(value[i].data, "unix:", 5) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": unknown parameter \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        /*
         * An address: resolved now, at configuration time.  A name that
         * does not resolve now (the incident store's DNS is failing) does
         * not stop nginx if "resolver" can resolve it later: see
         * ngx_http_outage_redis_postconfiguration().
         */

        if (ngx_strnstr(value[i].data, "://", value[i].len) != NULL) {
            /* ngx_parse_url would take the scheme for a host name */
            goto invalid;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[i];
        u.default_port = 6379;

        u.no_resolve = 1;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": invalid address \"%V\": %s",
                               &value[i], u.err ? u.err : "no address found");
            return NGX_CONF_ERROR;
        }

        later = (u.family != AF_UNIX && u.naddrs == 0
                 && (ngx_inet_resolve_host(cf->pool, &u) != NGX_OK
                     || u.naddrs == 0));

        if (u.uri.len || (later && u.host.len == 0)) {
            goto invalid;
        }

        a = ngx_array_push(omcf->redis_addrs);
        if (a == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(a, sizeof(ngx_http_outage_redis_addr_t));
        a->name = value[i];

        if (later) {
            /* no address yet: the poller resolves it (or postconf fails) */
            a->port = u.no_port ? u.default_port : u.port;
            a->conf_file = cf->conf_file->file.name;
            a->conf_line = cf->conf_file->line;
            continue;
        }

        a->addr = u.addrs[0];

        if (u.family == AF_UNIX) {
            a->unix_path.len = value[i].len - 5;
            a->unix_path.data = ngx_pnalloc(cf->pool, a->unix_path.len + 1);
            if (a->unix_path.data == NULL) {
                return NGX_CONF_ERROR;
            }

            p = ngx_cpymem(a->unix_path.data, value[i].data + 5,
                           a->unix_path.len);
            *p = '\0';
            continue;
        }

        a->host.data = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
        if (a->host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        a->host.len = ngx_sock_ntop(a->addr.sockaddr, a->addr.socklen,
                                    a->host.data, NGX_SOCKADDR_STRLEN, 0);
        a->host.data[a->host.len] = '\0';
        a->port = ngx_inet_get_port(a->addr.sockaddr);
    }

    if (omcf->redis_addrs->nelts == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\" needs at least one address");
        return NGX_CONF_ERROR;
    }

    /*
     * A healthy Redis is read once per interval.  A poll on the open link
     * takes up to timeout, but one that must open the link first (Redis
     * closed an idle client, a failover, the first poll of a new owner)
     * has the deadline connect() sets: connect_timeout + timeout, TLS
     * handshake included.  A max_stale below interval + both + 1 s (the
     * rule is checked in whole seconds) would withdraw declared incidents
     * between two successful polls.  The defaults are init_main_conf's.
     */
    if (omcf->redis_max_stale != NGX_CONF_UNSET && omcf->redis_max_stale) {
        iv = (omcf->redis_interval == NGX_CONF_UNSET_MSEC)
             ? 1000 : omcf->redis_interval;
        ct = (omcf->redis_connect_timeout == NGX_CONF_UNSET_MSEC)
             ? 1000 : omcf->redis_connect_timeout;
        ms = (omcf->redis_timeout == NGX_CONF_UNSET_MSEC)
             ? 1000 : omcf->redis_timeout;

        if ((ngx_msec_t) omcf->redis_max_stale * 1000 < iv + ct + ms + 1000)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": max_stale=%Ts is shorter "
                               "than interval=%Mms + connect_timeout=%Mms + "
                               "timeout=%Mms + 1s: every incident would be "
                               "dropped between two successful polls",
                               omcf->redis_max_stale, iv, ct, ms);
            return NGX_CONF_ERROR;
        }
    }

    /*
     * CLIENT TRACKING BCAST with an empty prefix reports every key written
     * in the whole server (all databases): a poll per write of anything.
     */
    if (omcf->redis_push && omcf->redis_prefix.data
        && omcf->redis_prefix.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": \"push=on\" with an empty "
                           "\"prefix=\" would poll at every write of any key "
                           "in Redis; give a prefix or \"push=off\"");
        return NGX_CONF_ERROR;
    }

    if (omcf->redis_user.len && omcf->redis_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": \"user=\" needs \"password=\"");
        return NGX_CONF_ERROR;
    }

#if (NGX_SSL)

    if (tls && !tls_on) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": \"%V\" needs \"tls\"",
                           &tls->first);
        return NGX_CONF_ERROR;
    }

    if (tls_on) {
        if (tls == NULL) {
            tls = ngx_pcalloc(cf->pool, sizeof(ngx_http_outage_redis_tls_t));
            if (tls == NULL) {
                return NGX_CONF_ERROR;
            }

            tls->verify = NGX_CONF_UNSET;
        }

        if (ngx_http_outage_redis_tls_init(cf, tls) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        omcf->redis_tls = tls;
    }

#endif

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"outage_redis\": invalid address \"%V\": expected "
                       "host:port, [ipv6]:port or unix:/path", &value[i]);

    return NGX_CONF_ERROR;
}


/* ---- process start and stop -------------------------------------------- */

/*
 * A name of outage_redis that did not resolve when the configuration was
 * read: with an http{} level "resolver" the poller resolves it at run time
 * (it has no address until then, so the state comes from nowhere and ages
 * as after a failed poll); without one it could never be resolved, which is
 * an error that says what to do.  Here because the resolver may be set
 * after outage_redis.
 */

ngx_int_t
ngx_http_outage_redis_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                     i, resolver;
    ngx_conf_file_t                file, *saved;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    if (omcf->redis_addrs == NULL) {
        return NGX_OK;
    }

    if (ngx_http_outage_redis_resolver_scope(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    resolver = (clcf->resolver && clcf->resolver->connections.nelts);

    a = omcf->redis_addrs->elts;

    saved = cf->conf_file;

    for (i = 0; i < omcf->redis_addrs->nelts; i++) {
        if (a[i].addr.socklen || a[i].unix_path.len || saved == NULL) {
            continue;
        }

        /* the file:line of the directive, not of the end of http{} */
        file = *saved;
        file.file.name = a[i].conf_file;
        file.line = a[i].conf_line;
        cf->conf_file = &file;

        if (!resolver) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": host \"%V\" not found, and "
                               "without an http-level \"resolver\" it is "
                               "never resolved again: add \"resolver\" to "
                               "start now and resolve the name at run time, "
                               "or use an IP address", &a[i].name);
            cf->conf_file = saved;
            return NGX_ERROR;
        }

        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"outage_redis\": host \"%V\" does not resolve "
                           "now; the poller asks the resolver until it does, "
                           "and polls fail meanwhile", &a[i].name);

        cf->conf_file = saved;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_outage_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_outage_redis_t      *rd;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);

    if (omcf->redis_addrs == NULL) {
        return NGX_OK;
    }

    ngx_http_outage_redis_functions.createString =
                                       ngx_http_outage_redis_create_string;
    ngx_http_outage_redis_functions.createArray =
                                       ngx_http_outage_redis_create_array;
    ngx_http_outage_redis_functions.createInteger =
                                       ngx_http_outage_redis_create_integer;
    ngx_http_outage_redis_functions.createNil =
                                       ngx_http_outage_redis_create_nil;
#if (HIREDIS_MAJOR >= 1)
    ngx_http_outage_redis_functions.createDouble =
                                       ngx_http_outage_redis_create_double;
    ngx_http_outage_redis_functions.createBool =
                                       ngx_http_outage_redis_create_bool;
#endif
    ngx_http_outage_redis_functions.freeObject =
                                       ngx_http_outage_redis_free_object;

    rd = &ngx_http_outage_redis;

    if (ngx_http_outage_redis_init_link(rd, omcf, cycle, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    rd->said_crc = ngx_pcalloc(cycle->pool,
                               omcf->redis_addrs->nelts * sizeof(uint32_t));
    if (rd->said_crc == NULL) {
        return NGX_ERROR;
    }

    /* EXEC answers 2 replies per scope; nothing else sends an array */
    rd->max_top = NGX_HTTP_OUTAGE_REDIS_PER_SCOPE * omcf->scopes.nelts;
    rd->per_scope = NGX_HTTP_OUTAGE_REDIS_PER_SCOPE;
    rd->source = ngx_http_outage_redis_source(omcf);
    rd->max_nested = NGX_HTTP_OUTAGE_REDIS_NESTED_MAX;

    if (ngx_http_outage_redis_init_names(rd, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_outage_redis_format(rd, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    rd->tick.handler = ngx_http_outage_redis_tick;

    ngx_http_outage_redis_timer(rd, &rd->soon, ngx_http_outage_redis_soon);
    ngx_http_outage_redis_timer(rd, &rd->flap_end,
                                ngx_http_outage_redis_flap_end);

    ngx_memzero(&ngx_http_outage_redis_push_link,
                sizeof(ngx_http_outage_redis_t));

    if (omcf->redis_push) {
        rd = &ngx_http_outage_redis_push_link;

        if (ngx_http_outage_redis_init_link(rd, omcf, cycle, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        /* ["message", channel, [key...]] or the subscription's answer */
        rd->max_top = 3;
        rd->max_nested = NGX_HTTP_OUTAGE_REDIS_KEYS_MAX;

        if (ngx_http_outage_redis_push_format(rd, cycle) != NGX_OK) {
            return NGX_ERROR;
        }

        rd->tick.handler = ngx_http_outage_redis_push_retry;

        ngx_http_outage_redis_timer(rd, &rd->skip_later,
                                    ngx_http_outage_redis_push_skipped_later);
        ngx_http_outage_redis_timer(rd, &rd->ping,
                                    ngx_http_outage_redis_push_ping);
    }

    /* a small per-worker offset so that workers do not race for the lease */
    ngx_add_timer(&ngx_http_outage_redis.tick,
                  (ngx_msec_t) (ngx_random() % 50));

    return NGX_OK;
}


/*
 * nginx -t: "resolver" is an http-level setting for outage_redis, which
 * polls outside any request, so a resolver written only in a server or a
 * location leaves a host name resolved once, at configuration time; which
 * server's would it be, with several?  Said as a warning, not guessed.
 */

static ngx_int_t
ngx_http_outage_redis_resolver_scope(ngx_conf_t *cf)
{
    ngx_uint_t                      i;
    ngx_resolver_t                 *http;
    ngx_conf_file_t                *current;
    ngx_http_core_srv_conf_t      **cscfp;
    ngx_http_core_loc_conf_t       *clcf, *found, **loc;
    ngx_http_core_main_conf_t      *cmcf;
    ngx_http_outage_main_conf_t    *omcf;
    ngx_http_outage_redis_addr_t   *a, *named;

    omcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_outage_module);

    if (omcf->redis_addrs == NULL) {
        return NGX_OK;
    }

    a = omcf->redis_addrs->elts;
    named = NULL;

    for (i = 0; i < omcf->redis_addrs->nelts; i++) {
        if (ngx_http_outage_redis_is_name(&a[i])) {
            named = &a[i];
            break;
        }
    }

    if (named == NULL) {
        return NGX_OK;
    }

    /* a dummy resolver (no address) stands in for a missing one */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    http = clcf->resolver;

    if (http && http->connections.nelts) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    cscfp = cmcf->servers.elts;
    found = NULL;

    for (i = 0; found == NULL && i < cmcf->servers.nelts; i++) {
        clcf = cscfp[i]->ctx->loc_conf[ngx_http_core_module.ctx_index];
        found = ngx_http_outage_redis_resolver_in(clcf, http);

        for (loc = cscfp[i]->named_locations; found == NULL && loc && *loc;
             loc++)
        {
            found = ngx_http_outage_redis_resolver_in(*loc, http);
        }
    }

    if (found) {
        current = cf->conf_file;
        cf->conf_file = &ngx_http_outage_redis_conf_file;

        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "\"outage_redis\" %V: a \"resolver\" in a server "
                           "or location is not used for it, the name is "
                           "resolved only when the configuration is read; "
                           "set \"resolver\" at the http level to follow "
                           "its address", &named->name);

        cf->conf_file = current;
    }

    return NGX_OK;
}


/* a host name, not an IP literal or a unix socket */

static ngx_uint_t
ngx_http_outage_redis_is_name(ngx_http_outage_redis_addr_t *a)
{
    u_char  *p, *last;

    if (a->unix_path.len) {
        return 0;
    }

    p = a->name.data;
    last = p + a->name.len;

    if (p == last || *p == '[') {
        return 0;       /* an IPv6 literal */
    }

    p = ngx_strlchr(p, last, ':');

    return ngx_inet_addr(a->name.data, (p ? p : last) - a->name.data)
           == INADDR_NONE;
}


/* the location (or server) with a resolver of its own, here or nested */

static ngx_http_core_loc_conf_t *
ngx_http_outage_redis_resolver_in(ngx_http_core_loc_conf_t *clcf,
    ngx_resolver_t *http)
{
    ngx_http_core_loc_conf_t   *found;
#if (NGX_PCRE)
    ngx_http_core_loc_conf_t  **re;
#endif

    if (clcf == NULL) {
        return NULL;
    }

    if (clcf->resolver && clcf->resolver != http
        && clcf->resolver->connections.nelts)
    {
        return clcf;
    }

    found = ngx_http_outage_redis_resolver_tree(clcf->static_locations, http);
    if (found) {
        return found;
    }

#if (NGX_PCRE)
    for (re = clcf->regex_locations; re && *re; re++) {
        found = ngx_http_outage_redis_resolver_in(*re, http);
        if (found) {
            return found;
        }
    }
#endif

    return NULL;
}


static ngx_http_core_loc_conf_t *
ngx_http_outage_redis_resolver_tree(ngx_http_location_tree_node_t *node,
    ngx_resolver_t *http)
{
    ngx_http_core_loc_conf_t  *found;

    if (node == NULL) {
        return NULL;
    }

    found = ngx_http_outage_redis_resolver_in(node->exact, http);

    if (found == NULL && node->inclusive != node->exact) {
        found = ngx_http_outage_redis_resolver_in(node->inclusive, http);
    }

    if (found == NULL) {
        found = ngx_http_outage_redis_resolver_tree(node->tree, http);
    }

    if (found == NULL) {
        found = ngx_http_outage_redis_resolver_tree(node->left, http);
    }

    if (found == NULL) {
        found = ngx_http_outage_redis_resolver_tree(node->right, http);
    }

    return found;
}


/*
 * The addresses as resolved at configuration time, and which of them are
 * host names that nginx's resolver (if "resolver" is set at the http level)
 * may resolve again.
 */

static ngx_int_t
ngx_http_outage_redis_init_names(ngx_http_outage_redis_t *rd,
    ngx_cycle_t *cycle)
{
    u_char                        *p, *last;
    ngx_uint_t                     i;
    ngx_http_conf_ctx_t           *ctx;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_redis_name_t  *nm;

    a = rd->omcf->redis_addrs->elts;

    rd->names = ngx_pcalloc(cycle->pool, rd->omcf->redis_addrs->nelts
                                         * sizeof(ngx_http_outage_redis_name_t));
    if (rd->names == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < rd->omcf->redis_addrs->nelts; i++) {
        nm = &rd->names[i];

        if (a[i].addr.socklen) {
            ngx_memcpy(&nm->sockaddr, a[i].addr.sockaddr,
                       a[i].addr.socklen);

        } else {
            nm->stale = 1;      /* no address yet: resolved before connect */
        }

        nm->socklen = a[i].addr.socklen;

        if (a[i].unix_path.len) {
            continue;
        }

        p = a[i].name.data;
        last = p + a[i].name.len;

        if (p == last || *p == '[') {
            continue;       /* an IPv6 literal */
        }

        nm->host.data = p;
        p = ngx_strlchr(p, last, ':');
        nm->host.len = (p ? p : last) - nm->host.data;
        nm->port = a[i].port;

        if (ngx_inet_addr(nm->host.data, nm->host.len) != INADDR_NONE) {
            ngx_str_null(&nm->host);    /* an IPv4 literal */
        }
    }

    /* the http{} level "resolver"; nginx makes a dummy one without it */
    ctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];
    clcf = ctx->loc_conf[ngx_http_core_module.ctx_index];

    if (clcf->resolver && clcf->resolver->connections.nelts) {
        rd->resolver = clcf->resolver;
        rd->resolver_timeout = clcf->resolver_timeout;
    }

    return NGX_OK;
}


/*
 * Before reconnecting to a host name that failed: ask the resolver.
 * NGX_OK: a resolution is in flight (its handler connects); NGX_DECLINED:
 * connect to the address known now.
 */

static ngx_int_t
ngx_http_outage_redis_resolve(ngx_http_outage_redis_t *rd,
    ngx_http_outage_redis_name_t *nm)
{
    ngx_resolver_ctx_t  *ctx, temp;

    if (nm->ctx) {
        return NGX_OK;
    }

    temp.name = nm->host;

    ctx = ngx_resolve_start(rd->resolver, &temp);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_http_outage_redis_failed(rd, "cannot start resolving", NULL, 0);
        return NGX_DECLINED;
    }

    ctx->name = nm->host;
    ctx->handler = ngx_http_outage_redis_resolved;
    ctx->data = nm;
    ctx->timeout = rd->resolver_timeout;
    ctx->cancelable = 1;

    nm->ctx = ctx;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        nm->ctx = NULL;
        ngx_http_outage_redis_failed(rd, "cannot start resolving", NULL, 0);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ngx_http_outage_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_int_t                      state;
    ngx_uint_t                     k, moved;
    ngx_sockaddr_t                 sa;
    ngx_http_outage_redis_t       *rd, *push;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_redis_name_t  *nm;

    nm = ctx->data;
    rd = &ngx_http_outage_redis;

    nm->ctx = NULL;
    nm->stale = 0;

    if (ngx_exiting || ngx_quit || ngx_terminate || rd->omcf == NULL) {
        /* cancelled on the way out (a timed out ctx): nothing to report */
        ngx_resolve_name_done(ctx);
        return;
    }

    if (ctx->state || ctx->naddrs == 0) {
        /*
         * Keep the address known now; the next failure asks again.  Said
         * once per resolver error, beside the connection's own line (and
         * not in its place, or the two would alternate at every retry).
         */
        state = ctx->state ? ctx->state : NGX_RESOLVE_NXDOMAIN;

        if (nm->told != state) {
            nm->told = state;
            a = rd->omcf->redis_addrs->elts;
            ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                          "outage: redis %V: cannot resolve the name: %s; "
                          "trying the address known before",
                          &a[nm - rd->names].name,
                          ngx_resolver_strerror(state));
        }

    } else {
        nm->told = 0;
        nm->every = NGX_HTTP_OUTAGE_REDIS_RESOLVE_MIN / 2; /* doubled next */

        /* another of the names' addresses each time one failed */
        k = nm->pick++ % ctx->naddrs;

        ngx_memzero(&sa, sizeof(ngx_sockaddr_t));
        ngx_memcpy(&sa, ctx->addrs[k].sockaddr, ctx->addrs[k].socklen);
        ngx_inet_set_port(&sa.sockaddr, nm->port);

        moved = ctx->addrs[k].socklen != nm->socklen
                || ngx_cmp_sockaddr(&sa.sockaddr, ctx->addrs[k].socklen,
                                    &nm->sockaddr.sockaddr, nm->socklen, 1)
                   != NGX_OK;

        ngx_memcpy(&nm->sockaddr, &sa, ctx->addrs[k].socklen);
        nm->socklen = ctx->addrs[k].socklen;

        if (moved) {
            nm->gen++;      /* a poll link on the old address is replaced */
        }

        nm->text.data = nm->text_buf;
        nm->text.len = ngx_sock_ntop(&nm->sockaddr.sockaddr, nm->socklen,
                                     nm->text_buf, NGX_SOCKADDR_STRLEN, 1);

        /*
         * A push link on this name's old address hears from the wrong
         * server, if at all: reopened at once on the new one.  The same
         * address again leaves a working push link alone.
         */
        push = &ngx_http_outage_redis_push_link;

        if (moved && push->omcf && rd->owner
            && push->addr % rd->omcf->redis_addrs->nelts
               == (ngx_uint_t) (nm - rd->names))
        {
            ngx_http_outage_redis_push_stop();
            ngx_http_outage_redis_push_start();
        }
    }

    ngx_resolve_name_done(ctx);

    if (ngx_exiting || ngx_quit || ngx_terminate || rd->omcf == NULL
        || !rd->owner || rd->resolving)
    {
        return;     /* connect() goes on with the address now known */
    }

    if (rd->in_flight) {
        if (rd->gen != nm->gen) {
            rd->again = 1;  /* the next poll goes to the new address */
        }

        return;
    }

    if (rd->pc.connection == NULL || rd->gen != nm->gen) {
        ngx_http_outage_redis_poll_now(rd);
    }
}


/* what both links need: logs, the reply pool, timers */

static ngx_int_t
ngx_http_outage_redis_init_link(ngx_http_outage_redis_t *rd,
    ngx_http_outage_main_conf_t *omcf, ngx_cycle_t *cycle, ngx_uint_t push)
{
    ngx_memzero(rd, sizeof(ngx_http_outage_redis_t));

    rd->omcf = omcf;
    rd->log = cycle->log;
    rd->push = push;

    /*
     * nginx logs every failed connect() or recv() on the connection's log;
     * the poller reports each condition once itself (failed()), so the
     * connection gets a copy of the log that keeps the last such line
     * instead of writing it, and only lets alerts through.
     */
    rd->quiet = *cycle->log;
    rd->quiet.log_level = NGX_LOG_INFO;
    rd->quiet.writer = ngx_http_outage_redis_log_writer;
    rd->quiet.wdata = rd;
    rd->quiet.next = NULL;

    rd->pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);
    if (rd->pool == NULL) {
        return NGX_ERROR;
    }

    /* timers find their link through the dummy connection */
    rd->dummy.fd = (ngx_socket_t) -1;
    rd->dummy.data = rd;

    ngx_http_outage_redis_timer(rd, &rd->tick, NULL);
    ngx_http_outage_redis_timer(rd, &rd->deadline,
                                ngx_http_outage_redis_timeout);

    return NGX_OK;
}


/* a timer of the link: cancelable, it finds the link through dummy */

static void
ngx_http_outage_redis_timer(ngx_http_outage_redis_t *rd, ngx_event_t *ev,
    ngx_event_handler_pt handler)
{
    ev->handler = handler;
    ev->data = &rd->dummy;
    ev->log = rd->log;
    ev->cancelable = 1;
}


/* AUTH [user] password, for both links; the length, or < 0 */

static int
ngx_http_outage_redis_format_auth(ngx_http_outage_main_conf_t *omcf,
    char **cmd)
{
    size_t       lens[3];
    ngx_uint_t   k;
    const char  *args[3];

    k = 0;
    args[k] = "AUTH";
    lens[k++] = 4;

    if (omcf->redis_user.len) {
        args[k] = (const char *) omcf->redis_user.data;
        lens[k++] = omcf->redis_user.len;
    }

    args[k] = (const char *) omcf->redis_password.data;
    lens[k++] = omcf->redis_password.len;

    return redisFormatCommandArgv(cmd, (int) k, args, lens);
}


/* the push link's first bytes: [AUTH] CLIENT ID; the rest needs the id */

static ngx_int_t
ngx_http_outage_redis_push_format(ngx_http_outage_redis_t *rd,
    ngx_cycle_t *cycle)
{
    int                           n;
    char                         *cmd;
    u_char                       *p;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = rd->omcf;

    rd->cmds = ngx_pnalloc(cycle->pool, 512 + omcf->redis_user.len
                                        + omcf->redis_password.len);
    if (rd->cmds == NULL) {
        return NGX_ERROR;
    }

    p = rd->cmds;

    if (omcf->redis_password.len) {
        n = ngx_http_outage_redis_format_auth(omcf, &cmd);
        if (n < 0) {
            goto failed;
        }

        p = ngx_cpymem(p, cmd, n);
        redisFreeCommand(cmd);
    }

    p = ngx_cpymem(p, "*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n",
                   sizeof("*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n") - 1);

    rd->cmds_len = p - rd->cmds;

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                  "outage: cannot format the redis commands");
    return NGX_ERROR;
}


/*
 * The bytes sent on a new connection: [AUTH] [SELECT] INFO memory, then
 * the poll: INFO replication, INFO stats, MULTI, GET, HGETALL and PTTL per
 * scope, EXEC; later polls send the poll only.  hiredis formats
 * them once; the replies expected for them are listed in kinds[].
 */

static ngx_int_t
ngx_http_outage_redis_format(ngx_http_outage_redis_t *rd, ngx_cycle_t *cycle)
{
    int                           n;
    char    *cmd[8 + NGX_HTTP_OUTAGE_REDIS_PER_SCOPE * NGX_HTTP_OUTAGE_MAX_SCOPES];
    size_t   len[8 + NGX_HTTP_OUTAGE_REDIS_PER_SCOPE * NGX_HTTP_OUTAGE_MAX_SCOPES];
    u_char                       *p, *key;
    size_t                        lens[3];
    ngx_str_t                    *names;
    ngx_uint_t                    i, ncmd;
    const char                   *args[3];
    ngx_http_outage_main_conf_t  *omcf;

    omcf = rd->omcf;
    names = omcf->scopes.elts;
    ncmd = 0;

    rd->kinds = ngx_palloc(cycle->pool, 8 + NGX_HTTP_OUTAGE_REDIS_PER_SCOPE
                                             * omcf->scopes.nelts);
    if (rd->kinds == NULL) {
        return NGX_ERROR;
    }

    if (omcf->redis_password.len) {
        n = ngx_http_outage_redis_format_auth(omcf, &cmd[ncmd]);
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_AUTH;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }
    }

    if (omcf->redis_db) {
        n = redisFormatCommand(&cmd[ncmd], "SELECT %d", (int) omcf->redis_db);
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_SELECT;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }
    }

    if (!rd->info_told) {
        n = redisFormatCommand(&cmd[ncmd], "INFO memory");
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_INFO_MEMORY;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }
    }

    rd->nsetup = ncmd;

    if (!rd->info_told) {
        n = redisFormatCommand(&cmd[ncmd], "INFO replication");
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_INFO_REPL;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }

        n = redisFormatCommand(&cmd[ncmd], "INFO stats");
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_INFO_STATS;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }
    }

    n = redisFormatCommand(&cmd[ncmd], "MULTI");
    rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_QUEUED;
    len[ncmd++] = n;

    if (n < 0) {
        goto failed;
    }

    for (i = 0; i < omcf->scopes.nelts; i++) {
        key = ngx_pnalloc(cycle->pool, omcf->redis_prefix.len + names[i].len);
        if (key == NULL) {
            goto failed;
        }

        ngx_memcpy(key, omcf->redis_prefix.data, omcf->redis_prefix.len);
        ngx_memcpy(key + omcf->redis_prefix.len, names[i].data, names[i].len);

        args[0] = "GET";
        lens[0] = 3;
        args[1] = (const char *) key;
        lens[1] = omcf->redis_prefix.len + names[i].len;

        n = redisFormatCommandArgv(&cmd[ncmd], 2, args, lens);
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_QUEUED;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }

        args[0] = "HGETALL";
        lens[0] = 7;

        n = redisFormatCommandArgv(&cmd[ncmd], 2, args, lens);
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_QUEUED;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }

        if (rd->per_scope < NGX_HTTP_OUTAGE_REDIS_PER_SCOPE) {
            continue;       /* the Redis user may not run PTTL */
        }

        args[0] = "PTTL";
        lens[0] = 4;

        n = redisFormatCommandArgv(&cmd[ncmd], 2, args, lens);
        rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_QUEUED_PTTL;
        len[ncmd++] = n;

        if (n < 0) {
            goto failed;
        }
    }

    n = redisFormatCommand(&cmd[ncmd], "EXEC");
    rd->kinds[ncmd] = NGX_HTTP_OUTAGE_REDIS_EXEC;
    len[ncmd++] = n;

    if (n < 0) {
        goto failed;
    }

    rd->nkinds = ncmd;

    rd->cmds_len = 0;
    rd->setup_len = 0;
    for (i = 0; i < ncmd; i++) {
        rd->cmds_len += len[i];
        if (i + 1 == rd->nsetup) {
            rd->setup_len = rd->cmds_len;
        }
    }

    rd->cmds = ngx_pnalloc(cycle->pool, rd->cmds_len);
    if (rd->cmds == NULL) {
        goto failed;
    }

    p = rd->cmds;
    for (i = 0; i < ncmd; i++) {
        p = ngx_cpymem(p, cmd[i], len[i]);
        redisFreeCommand(cmd[i]);
    }

    return NGX_OK;

failed:

    for (i = 0; i < ncmd; i++) {
        if ((int) len[i] >= 0) {
            redisFreeCommand(cmd[i]);
        }
    }

    ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                  "outage: cannot format the redis commands");
    return NGX_ERROR;
}


void
ngx_http_outage_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                i;
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis;

    if (rd->omcf == NULL) {
        return;
    }

    if (rd->tick.timer_set) {
        ngx_del_timer(&rd->tick);
    }

    if (rd->soon.timer_set) {
        ngx_del_timer(&rd->soon);
    }

    ngx_http_outage_redis_flaps_now(rd, 1);
    ngx_http_outage_redis_link_flush(rd, 1);

    if (rd->flap_end.timer_set) {
        ngx_del_timer(&rd->flap_end);
    }

    ngx_http_outage_redis_close(rd);
    ngx_http_outage_redis_push_stop();

    /* skips not told yet are told now: nginx does not wait for the timer */
    if (ngx_http_outage_redis_push_link.omcf) {
        if (ngx_http_outage_redis_push_link.skip_later.timer_set) {
            ngx_del_timer(&ngx_http_outage_redis_push_link.skip_later);
        }

        ngx_http_outage_redis_push_skipped_log(
                                           &ngx_http_outage_redis_push_link);
    }

    for (i = 0; rd->names && i < rd->omcf->redis_addrs->nelts; i++) {
        if (rd->names[i].ctx) {
            ngx_resolve_name_done(rd->names[i].ctx);
            rd->names[i].ctx = NULL;
        }
    }

    if (ngx_http_outage_redis_push_link.pool) {
        ngx_destroy_pool(ngx_http_outage_redis_push_link.pool);
        ngx_http_outage_redis_push_link.pool = NULL;
    }

    /* at once: the next poller need not wait for the lease to expire */
    ngx_http_outage_lease_release(&ngx_http_outage_shm()->redis_lease);
    rd->owner = 0;

    if (rd->pool) {
        ngx_destroy_pool(rd->pool);
        rd->pool = NULL;
    }

    rd->omcf = NULL;
}


/* ---- the poller -------------------------------------------------------- */

static void
ngx_http_outage_redis_tick(ngx_event_t *ev)
{
    ngx_pid_t                     stalled;
    ngx_msec_t                    ttl;
    ngx_http_outage_lease_t      *lease;
    ngx_http_outage_redis_t      *rd;
    ngx_http_outage_main_conf_t  *omcf;

    rd = &ngx_http_outage_redis;
    omcf = rd->omcf;

    if (ngx_exiting || ngx_quit || ngx_terminate || omcf == NULL) {
        if (omcf) {
            ngx_http_outage_redis_flaps_now(rd, 1);
            ngx_http_outage_redis_link_flush(rd, 1);
        }

        ngx_http_outage_redis_close(rd);
        ngx_http_outage_redis_push_stop();
        ngx_http_outage_lease_release(&ngx_http_outage_shm()->redis_lease);
        rd->owner = 0;
        return;
    }

    ngx_add_timer(&rd->tick, omcf->redis_interval);

    /* a window over, whether or not a poll reads the scope now */
    ngx_http_outage_redis_flaps_now(rd, 0);

    ngx_http_outage_redis_unpolled(rd);
    ngx_http_outage_redis_expired(rd);

    /* the lease outlives a slow poll, but not a dead or stopped owner */
    ttl = 2 * omcf->redis_interval + omcf->redis_connect_timeout
          + omcf->redis_timeout;

    /* a holder of this configuration that stopped renewing: dead, stopped */
    lease = &ngx_http_outage_shm()->redis_lease;
    stalled = 0;

    if (!rd->owner && lease->pid && lease->pid != ngx_pid
        && lease->conf == omcf->conf_generation
        && (ngx_msec_int_t) (ngx_current_msec - lease->expires) >= 0)
    {
        stalled = lease->pid;
    }

    if (!ngx_http_outage_lease_take(&ngx_http_outage_shm()->redis_lease, ttl,
                                    ev->log, "polls Redis"))
    {
        if (rd->owner) {
            ngx_http_outage_redis_flaps_now(rd, 1);
            ngx_http_outage_redis_link_flush(rd, 1);
            ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                          "outage: another worker now polls Redis");
            rd->owner = 0;
        }

        ngx_http_outage_redis_close(rd);
        ngx_http_outage_redis_push_stop();
        return;
    }

    if (!rd->owner && stalled) {
        ngx_http_outage_redis_inherited(rd, stalled);
    }

    rd->owner = 1;

    /* the poll first: after a failure it may resolve the name again */
    ngx_http_outage_redis_poll_now(rd);

    ngx_http_outage_redis_push_start();
}


/*
 * A key's TTL passed while Redis cannot be read: its state no longer
 * applies (decision.c's window), which no poll will say; whichever
 * worker's tick sees it first says it, once per state written.
 */

static void
ngx_http_outage_redis_expired(ngx_http_outage_redis_t *rd)
{
    u_char                        logbuf[NGX_HTTP_OUTAGE_MESSAGE_MAX * 4];
    size_t                        n;
    ngx_str_t                    *names;
    ngx_uint_t                    i, slot, state;
    ngx_msec_int_t                ago;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_shm_scope_t  *ss;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = rd->omcf;
    shm = ngx_http_outage_shm();
    names = omcf->scopes.elts;

    if (shm->redis_up) {
        return;     /* the next poll reads the key gone, and says so */
    }

    for (i = 0; i < omcf->scopes.nelts; i++) {
        slot = ngx_http_outage_scope_slot(i);

        if (slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE) {
            continue;
        }

        ss = &shm->scopes[slot];

        /* read without the lock first: nothing to say is the usual case */
        if (ss->redis_expiry_told || ss->redis.expires == 0
            || ss->redis.state == NGX_HTTP_OUTAGE_STATE_NONE)
        {
            continue;
        }

        ago = (ngx_msec_int_t) (ngx_current_msec
                                - (ngx_msec_t) ss->redis.expires);
        if (ago < 0) {
            continue;
        }

        ngx_http_outage_shm_lock();

        if (ss->redis_expiry_told || ss->redis.expires == 0) {
            ngx_http_outage_shm_unlock();
            continue;
        }

        ss->redis_expiry_told = 1;
        state = ss->redis.state;
        n = ngx_http_outage_log_escape_cut(logbuf, sizeof(logbuf),
                                           ss->redis.message,
                                           ss->redis.message_len);

        ngx_http_outage_shm_unlock();

        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: redis key \"%V%V\" expired %M ms ago (its "
                      "TTL) while Redis cannot be read: scope \"%V\" is no "
                      "longer %s by redis (\"%*s\")",
                      &omcf->redis_prefix, &names[i], (ngx_msec_t) ago,
                      &names[i], ngx_http_outage_state_name(state), n,
                      logbuf);
    }
}


/*
 * Declared incidents withdrawn by max_stale with no failed poll to say so
 * (ngx_http_outage_redis_usable(): nobody has polled for longer than a
 * takeover of the lease takes): whichever worker's tick sees it first
 * says it, once until a poll succeeds.
 */

static void
ngx_http_outage_redis_unpolled(ngx_http_outage_redis_t *rd)
{
    time_t                        now, age;
    ngx_uint_t                    i, slot, incidents, told, arriving;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_lease_t      *lease;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = rd->omcf;
    shm = ngx_http_outage_shm();
    now = ngx_time();

    if (omcf->redis_max_stale <= 0 || !shm->redis_up
        || shm->redis_stale_told
        || ngx_http_outage_redis_usable(omcf, shm, now))
    {
        return;
    }

    /*
     * A holder that renews its lease is alive: it says it, knowing what
     * the others cannot, whether a poll's reply is still arriving.
     */
    lease = &shm->redis_lease;

    if (!rd->owner && lease->pid && lease->pid != ngx_pid
        && (ngx_msec_int_t) (lease->expires - ngx_current_msec) > 0)
    {
        return;
    }

    arriving = rd->owner && rd->in_flight && rd->ready;

    incidents = 0;

    ngx_http_outage_shm_lock();

    told = shm->redis_stale_told || !shm->redis_up;
    shm->redis_stale_told = 1;
    age = (time_t) (ngx_http_outage_msec_since(shm->redis_last_ok_ms) / 1000);

    for (i = 0; !told && i < omcf->scopes.nelts; i++) {
        slot = ngx_http_outage_scope_slot(i);

        if (slot != NGX_HTTP_OUTAGE_NO_SLOT_SCOPE
            && shm->scopes[slot].redis.state != NGX_HTTP_OUTAGE_STATE_NONE)
        {
            incidents++;
        }
    }

    ngx_http_outage_shm_unlock();

    if (!told && arriving) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: no Redis poll has completed for %T s, more "
                      "than max_stale and its grace: the poll in flight has "
                      "waited %M ms for its reply (up to 10 x timeout=), "
                      "its last bytes %M ms ago: the %ui states declared in "
                      "Redis are ignored (health checks decide) until a poll "
                      "succeeds", age, ngx_current_msec - rd->sent,
                      ngx_current_msec - rd->progress, incidents);

    } else if (!told) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: no Redis poll has completed for %T s, more "
                      "than max_stale and a takeover of the polling lease: "
                      "the %ui states declared in Redis are ignored (health "
                      "checks decide) until a poll succeeds", age, incidents);
    }
}


/* a poll, on the open link or on a new one, unless one is in flight */

static void
ngx_http_outage_redis_poll_now(ngx_http_outage_redis_t *rd)
{
    ngx_http_outage_redis_addr_t  *a;

    if (rd->soon.timer_set) {
        ngx_del_timer(&rd->soon);
    }

    if (rd->in_flight) {
        return;     /* the deadline timer ends a stuck poll */
    }

    if (rd->pc.connection
        && rd->gen != rd->names[rd->addr % rd->omcf->redis_addrs->nelts].gen)
    {
        /* the name was resolved to a new address meanwhile: go there */
        ngx_http_outage_redis_close(rd);
    }

    if (rd->pc.connection && rd->prefer_at && rd->on_replica
        && !rd->info_told
        && rd->addr % rd->omcf->redis_addrs->nelts != 0
        && (ngx_msec_int_t) (ngx_current_msec - rd->prefer_at) >= 0)
    {
        a = rd->omcf->redis_addrs->elts;

        ngx_log_error(NGX_LOG_INFO, rd->log, 0,
                      "outage: redis: trying the first address %V again "
                      "after %M s on %V", &a[0].name, rd->prefer_every / 1000,
                      &a[rd->addr % rd->omcf->redis_addrs->nelts].name);

        ngx_http_outage_redis_close(rd);
        rd->prefer_at = 0;
        rd->preferring = 1;
        rd->addr = 0;
    }

    if (rd->pc.connection == NULL) {
        /* connect() sends the first poll, or fails and says so */
        (void) ngx_http_outage_redis_connect(rd);
        return;
    }

    ngx_http_outage_redis_poll(rd);
}


/*
 * A push message says a key under the prefix changed: poll now, but not
 * more often than every NGX_HTTP_OUTAGE_REDIS_KICK_MIN ms, and once more
 * after a poll in flight (it may have read the key before the change).
 */

static void
ngx_http_outage_redis_kick(void)
{
    ngx_msec_t                elapsed;
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis;

    if (!rd->owner || rd->omcf == NULL) {
        return;
    }

    if (rd->in_flight) {
        rd->again = 1;
        return;
    }

    if (rd->soon.timer_set) {
        return;
    }

    /*
     * Only polls asked for by push count: a tick that has just polled
     * must not delay a change that came after it.
     */
    elapsed = ngx_current_msec - rd->last_kick;

    ngx_add_timer(&rd->soon, elapsed >= NGX_HTTP_OUTAGE_REDIS_KICK_MIN
                             ? 0 : NGX_HTTP_OUTAGE_REDIS_KICK_MIN - elapsed);
}


static void
ngx_http_outage_redis_soon(ngx_event_t *ev)
{
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis;

    if (ngx_exiting || ngx_quit || ngx_terminate || rd->omcf == NULL
        || !rd->owner
        || !ngx_http_outage_lease_holds(&ngx_http_outage_shm()->redis_lease))
    {
        return;     /* the tick decides what happens next */
    }

    /*
     * No poll link: the last one failed (or is being resolved again).  A
     * push message must not reconnect (and AUTH) for each change while
     * polls fail; the tick, or at most one message a second, does.
     */
    if (rd->pc.connection == NULL
        && ngx_current_msec - rd->last_connect
           < NGX_HTTP_OUTAGE_REDIS_KICK_CONNECT)
    {
        return;
    }

    rd->last_kick = ngx_current_msec;

    ngx_http_outage_redis_poll_now(rd);
}


static ngx_int_t
ngx_http_outage_redis_connect(ngx_http_outage_redis_t *rd)
{
    ngx_int_t                      rc;
    ngx_err_t                      err;
    ngx_connection_t              *c;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_redis_name_t  *nm;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = rd->omcf;

    if (rd->push) {
        /* where the poller has just succeeded, or will try next */
        rd->addr = ngx_http_outage_redis.addr;
        rd->pstate = omcf->redis_password.len ? NGX_HTTP_OUTAGE_REDIS_AUTH
                                               : NGX_HTTP_OUTAGE_REDIS_CLIENT_ID;
    }

    a = omcf->redis_addrs->elts;
    a = &a[rd->addr % omcf->redis_addrs->nelts];
    rd->epoch = ngx_http_outage_lease_epoch(
                                      &ngx_http_outage_shm()->redis_lease);

    if (rd->push) {
        /* a failure or a refusal stays shown until it is subscribed */
        ngx_http_outage_redis_push_state(rd, NGX_HTTP_OUTAGE_PUSH_CONNECTING,
                                         NULL, 0);
    }
    nm = &ngx_http_outage_redis.names[rd->addr % omcf->redis_addrs->nelts];

    /*
     * A name that failed is asked again, at most every few seconds (a DNS
     * that refuses would log an error per attempt), and without waiting
     * for the answer: the address known now may well work, and a resolver
     * that never answers would stop polling for resolver_timeout.  The
     * answer, if it moves the name, moves the link (see resolved()).
     */
    if (!rd->push && nm->stale && nm->host.len && rd->resolver
        && nm->ctx == NULL
        && (nm->every == 0 || ngx_current_msec - nm->asked >= nm->every))
    {
        nm->stale = 0;
        nm->asked = ngx_current_msec;
        nm->every = nm->every ? ngx_min(2 * nm->every,
                                        NGX_HTTP_OUTAGE_REDIS_RESOLVE_MAX)
                              : NGX_HTTP_OUTAGE_REDIS_RESOLVE_MIN;

        /* a cached answer calls resolved() at once: it must not connect */
        rd->resolving = 1;
        (void) ngx_http_outage_redis_resolve(rd, nm);
        rd->resolving = 0;
    }

    if (!rd->push) {
        rd->gen = nm->gen;
    }

    if (nm->socklen == 0) {
        /* the name has never resolved: the answer, if any, connects */
        if (!rd->push) {
            nm->stale = 1;
        }

        ngx_http_outage_redis_failed(rd, "the name does not resolve (yet)",
                                     NULL, 0);
        rd->addr++;
        return NGX_ERROR;
    }

    if (ngx_http_outage_redis_new_reader(rd) != NGX_OK) {
        ngx_http_outage_redis_failed(rd, "cannot allocate a reader", NULL, 0);
        return NGX_ERROR;
    }

    rd->said_len = 0;

    /* the push link's replies are walked from the first byte */
    ngx_http_outage_resp_init(&rd->walk, &ngx_http_outage_redis_push_limits);
    rd->skipping = 0;

    ngx_memzero(&rd->pc, sizeof(ngx_peer_connection_t));
    rd->pc.sockaddr = &nm->sockaddr.sockaddr;
    rd->pc.socklen = nm->socklen;
    rd->pc.name = &a->name;
    rd->pc.get = ngx_event_get_peer;
    rd->pc.log = &rd->quiet;
    rd->pc.log_error = NGX_ERROR_INFO;
    rd->pc.tries = 1;

    if (!rd->push) {
        ngx_http_outage_shm()->redis_connects++;
        rd->last_connect = ngx_current_msec;
    }

    rc = ngx_event_connect_peer(&rd->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        err = ngx_socket_errno;

        rd->pc.connection = NULL;
        ngx_http_outage_redis_close(rd);

        if (!rd->push) {
            /* no route, address unavailable...: resolved again as well */
            nm->stale = 1;
        }

        if (rc == NGX_DECLINED && err) {
            ngx_http_outage_redis_failed(rd, "connect failed",
                                         (const char *) strerror(err),
                                         ngx_strlen(strerror(err)));
        } else {
            ngx_http_outage_redis_failed(rd, "cannot open a connection "
                                         "(worker_connections, file "
                                         "descriptors)", NULL, 0);
        }

        rd->addr++;
        return NGX_ERROR;
    }

    c = rd->pc.connection;
    c->data = rd;
    c->read->handler = ngx_http_outage_redis_read_handler;
    c->write->handler = ngx_http_outage_redis_write_handler;

    rd->connected = 0;
    rd->ready = 0;

#if (NGX_SSL)
    if (omcf->redis_tls) {
        /* the TLS state of the connection lives in its pool */
        c->pool = ngx_create_pool(1024, rd->log);
        if (c->pool == NULL) {
            ngx_http_outage_redis_drop(rd, "cannot start TLS", NULL, 0);
            return NGX_ERROR;
        }
    }
#endif

    /* the first poll goes out behind AUTH and SELECT, once connected */
    rd->send_pos = rd->cmds;
    rd->send_last = rd->cmds + rd->cmds_len;
    rd->next_kind = 0;
    rd->in_flight = 1;
    rd->evicted_now = (uint64_t) -1;
    rd->replid_now_len = 0;

    ngx_add_timer(&rd->deadline, omcf->redis_connect_timeout
                                 + omcf->redis_timeout);

    if (rc == NGX_OK) {
        ngx_http_outage_redis_write_handler(c->write);
    }

    return NGX_OK;
}


/* a reader for a new link, or in place of one that holds a skipped reply */

static ngx_int_t
ngx_http_outage_redis_new_reader(ngx_http_outage_redis_t *rd)
{
    if (rd->reader) {
        redisReaderFree(rd->reader);
    }

    rd->reader = redisReaderCreateWithFunctions(
                                            &ngx_http_outage_redis_functions);
    if (rd->reader == NULL) {
        return NGX_ERROR;
    }

    rd->reader->privdata = rd;
    rd->reader->maxbuf = NGX_HTTP_OUTAGE_REDIS_READ_CHUNK;
#if (HIREDIS_MAJOR >= 1)
    /* parenthesized: ngx_max() does not parenthesize its arguments */
    rd->reader->maxelements = ngx_max(rd->max_top,
                                      (rd->push
                                       ? rd->max_nested
                                       : NGX_HTTP_OUTAGE_REDIS_FIELDS_CAP));
#endif

    rd->used = 0;
    rd->refused_len = 0;
    rd->in_exec = 0;
    rd->skip_len = 0;
    ngx_reset_pool(rd->pool);

    /*
     * No cap on what is walked: a value Redis holds (proto-max-bulk-len
     * may allow more than 512 MB) is one key's matter, and the reply's
     * deadline (timeout=) bounds the time; only a length past 64 bits is
     * refused.  Outside EXEC feed() refuses any string it skips.
     */
    ngx_http_outage_resp_cut_init(&rd->cutter, NGX_HTTP_OUTAGE_REDIS_BULK_MAX,
                                  UINT64_MAX);

    return NGX_OK;
}


static void
ngx_http_outage_redis_poll(ngx_http_outage_redis_t *rd)
{
    ngx_connection_t  *c;

    c = rd->pc.connection;

    rd->send_pos = rd->cmds + rd->setup_len;
    rd->send_last = rd->cmds + rd->cmds_len;
    rd->next_kind = rd->nsetup;
    rd->in_flight = 1;
    rd->evicted_now = (uint64_t) -1;
    rd->replid_now_len = 0;
    rd->epoch = ngx_http_outage_lease_epoch(
                                      &ngx_http_outage_shm()->redis_lease);
    rd->sent = ngx_current_msec;
    rd->progress = ngx_current_msec;

    ngx_add_timer(&rd->deadline, rd->omcf->redis_timeout);

    ngx_http_outage_redis_write_handler(c->write);
}


static void
ngx_http_outage_redis_timeout(ngx_event_t *ev)
{
    u_char                    buf[160], *p, *q;
    ngx_msec_t                timeout, cap, next;
    ngx_uint_t                pstate, ends, capped, value;
    const char               *what;
    ngx_connection_t         *dummy;
    ngx_http_outage_redis_t  *rd;

    dummy = ev->data;
    rd = dummy->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        /* nginx cancels timers on the way out: no condition to report */
        ngx_http_outage_redis_close(rd);
        return;
    }

    if (rd->ready) {
        pstate = rd->pstate;
        ends = rd->ends;

        ngx_http_outage_redis_read_now(rd);

        if (rd->pc.connection == NULL) {
            return;     /* closed, and said why */
        }

        /*
         * Done with the wait if what was there ended it: the poll's reply
         * read, the subscription made or its next command written (with
         * its own deadline), the message that had begun ended (another
         * begun since has its own deadline).  A message that is
         * still the same one is not spared: a trickle does not extend it.
         */
        if (rd->push ? (pstate == NGX_HTTP_OUTAGE_REDIS_MESSAGE
                        ? rd->ends != ends
                        : rd->pstate == NGX_HTTP_OUTAGE_REDIS_MESSAGE
                          || rd->deadline.timer_set)
                     : !rd->in_flight || rd->deadline.timer_set)
        {
            return;
        }

        if (rd->deadline.timer_set) {
            ngx_del_timer(&rd->deadline);
        }
    }

    capped = 0;

    if (rd->ready && !rd->push) {
        /*
         * A reply that is arriving (a big hash, a slow path) is not cut
         * while its bytes keep coming within timeout= of each other; the
         * cap bounds what a drip can hold.
         */
        timeout = rd->omcf->redis_timeout;
        next = rd->progress + timeout;
        cap = rd->sent + NGX_HTTP_OUTAGE_REDIS_REPLY_CAP * timeout;

        if ((ngx_msec_int_t) (next - ngx_current_msec) > 0) {
            if ((ngx_msec_int_t) (cap - ngx_current_msec) > 0) {
                ngx_add_timer(&rd->deadline,
                              (ngx_msec_int_t) (next - cap) < 0
                              ? next - ngx_current_msec
                              : cap - ngx_current_msec);
                return;
            }

            capped = 1;
        }
    }

    what = capped ? "reply still arriving after 10 x timeout=, the cap of "
                    "one poll"
                  : "no reply within timeout";

    if (rd->push && rd->pstate == NGX_HTTP_OUTAGE_REDIS_MESSAGE) {
        ngx_http_outage_redis_push_stalled(rd);
        return;
    }

    value = ngx_http_outage_resp_cut_dropping(&rd->cutter);

    if (rd->ready && !rd->push && rd->in_exec
        && (value || (rd->compact && rd->nested_left)))
    {
        /*
         * A value so big (or a hash of so many fields) that its transfer
         * outlasts the poll's time: the keys after it in the reply are not
         * read either, so the poll fails as a whole (what came before it
         * is no whole answer); the line names the key and its size, which
         * do not change from poll to poll.
         */
        p = ngx_snprintf(buf, sizeof(buf), "a %s of %uL %s was still "
                         "arriving: trim the key, or raise timeout=",
                         value ? "value" : "hash",
                         value ? rd->cutter.skipped
                               : (uint64_t) (rd->compact_n / 2),
                         value ? "bytes" : "fields");
        rd->refused_len = 0;
        q = ngx_http_outage_redis_refused_key(rd, rd->refused);
        p = ngx_snprintf(p, buf + sizeof(buf) - p, "%*s",
                         (size_t) (q - rd->refused), rd->refused);

        ngx_http_outage_redis_drop(rd, what, (const char *) buf, p - buf);
        return;
    }

    ngx_http_outage_redis_drop(rd, rd->ready ? what
                                   : rd->connected ? "TLS handshake timed out"
                                   : "connect timed out", NULL, 0);
}


/* a failure of the link: logged once per condition, next address next */

static void
ngx_http_outage_redis_drop(ngx_http_outage_redis_t *rd, const char *what,
    const char *detail, size_t len)
{
    ngx_http_outage_redis_failed(rd, what, detail, len);
    ngx_http_outage_redis_close(rd);

    if (!rd->push) {
        /* a name that failed is resolved again before its next connect */
        rd->names[rd->addr % rd->omcf->redis_addrs->nelts].stale = 1;
    }

    rd->addr++;
}


/*
 * The peer closed or reset the link, before or after the commands went out:
 * one wording for all of these, so that a server that accepts and drops
 * every connection gives one log line, not one per way of noticing.
 */

static void
ngx_http_outage_redis_lost(ngx_http_outage_redis_t *rd)
{
    static const char  text[] = "closed or reset by the server";

    ngx_http_outage_redis_drop(rd, "connection lost", text, sizeof(text) - 1);
}


/* closes whatever is open; safe to call at any time */

static void
ngx_http_outage_redis_close(ngx_http_outage_redis_t *rd)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
    }

    if (rd->ping.timer_set) {
        ngx_del_timer(&rd->ping);
    }

    rd->pinged = 0;

    c = rd->pc.connection;

    if (c) {
        rd->pc.connection = NULL;
        pool = c->pool;

#if (NGX_SSL)
        if (c->ssl) {
            /* no close_notify round trip with a peer we are leaving */
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }
#endif

        ngx_close_connection(c);

        if (pool) {
            ngx_destroy_pool(pool);
        }
    }

    if (rd->reader) {
        redisReaderFree(rd->reader);
        rd->reader = NULL;
    }

    if (rd->pool) {
        ngx_reset_pool(rd->pool);
    }

    rd->used = 0;
    rd->in_flight = 0;
    rd->again = 0;
    rd->connected = 0;
    rd->ready = 0;
}


/* ---- the connection's events ------------------------------------------ */

/*
 * A timer that ends a wait runs before the read event that may end it:
 * with accept_mutex the cycle's read events are posted and run after the
 * expired timers, and a worker stopped past the wait (SIGSTOP, a host
 * that swapped it out) wakes with both due, epoll_wait() even returning
 * EINTR without any event.  So what is in the socket is read first.  The
 * read handler alone reads nothing there: a read that ended at EAGAIN
 * left rev->ready at 0 (and rev->available at 0 under EPOLLRDHUP), and
 * ngx_unix_recv() then returns NGX_AGAIN without asking the kernel.  The
 * readiness is claimed as ngx_event_move_posted_next() claims it: one
 * recv() that finds nothing puts it back.
 */

static void
ngx_http_outage_redis_read_now(ngx_http_outage_redis_t *rd)
{
    ngx_event_t  *rev;

    if (rd->pc.connection == NULL || !rd->ready) {
        return;
    }

    rev = rd->pc.connection->read;
    rev->ready = 1;
    rev->available = -1;

    ngx_http_outage_redis_read_handler(rev);
}


static ngx_int_t
ngx_http_outage_redis_connected(ngx_http_outage_redis_t *rd)
{
    int         err;
    socklen_t   len;
    const char *text;

    if (rd->ready) {
        return NGX_OK;
    }

    if (rd->connected) {
        return NGX_AGAIN;   /* the TLS handshake owns the events */
    }

    err = 0;
    len = sizeof(int);

    if (getsockopt(rd->pc.connection->fd, SOL_SOCKET, SO_ERROR, (void *) &err,
                   &len)
        == -1)
    {
        err = ngx_socket_errno;
    }

    if (err == NGX_ECONNRESET || err == NGX_EPIPE) {
        /* accepted, then reset: the same condition as a close later on */
        ngx_http_outage_redis_lost(rd);
        return NGX_ERROR;
    }

    if (err) {
        text = strerror(err);
        ngx_http_outage_redis_drop(rd, "connect failed", text,
                                   ngx_strlen(text));
        return NGX_ERROR;
    }

    rd->connected = 1;

#if (NGX_SSL)
    if (rd->omcf->redis_tls) {
        ngx_http_outage_redis_tls_start(rd);
        return NGX_AGAIN;
    }
#endif

    ngx_http_outage_redis_ready(rd);

    return NGX_OK;
}


/*
 * The link is open (TLS included): from here the reply to what is sent
 * has timeout=, the same on a link just opened as on one open for hours.
 * connect() gave the deadline connect_timeout + timeout, so that a slow
 * handshake does not eat the reply's time; left as it was, a Redis that
 * answers in between timeout= and connect_timeout + timeout succeeded on
 * each new link and failed on the next poll of it: up and down at every
 * other poll, two lines each time.  Measured from the write, one reply
 * time is judged one way.
 */

static void
ngx_http_outage_redis_ready(ngx_http_outage_redis_t *rd)
{
    rd->ready = 1;
    rd->sent = ngx_current_msec;
    rd->progress = ngx_current_msec;

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
        ngx_add_timer(&rd->deadline, rd->omcf->redis_timeout);
    }
}


static void
ngx_http_outage_redis_write_handler(ngx_event_t *wev)
{
#if (NGX_SSL)
    u_char                    alert[64];
#endif
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_http_outage_redis_t  *rd;

    c = wev->data;
    rd = c->data;

    if (ngx_http_outage_redis_connected(rd) != NGX_OK) {
        return;
    }

    while (rd->send_pos < rd->send_last) {

        rd->said_len = 0;

        n = c->send(c, rd->send_pos, rd->send_last - rd->send_pos);

        if (n == NGX_AGAIN) {
            break;
        }

#if (NGX_SSL)
        if (n == NGX_ERROR && c->ssl) {
            /*
             * A write refused after the handshake is usually the reset that
             * follows the server's alert (say, "certificate required"): the
             * alert may still be waiting to be read, and it says why.
             */
            if (ngx_strlcasestrn(rd->said, rd->said + rd->said_len,
                                 (u_char *) "(SSL:", 5 - 1)
                == NULL)
            {
                rd->said_len = 0;
                (void) c->recv(c, alert, sizeof(alert));
            }

            ngx_http_outage_redis_tls_error(rd);
            return;
        }
#endif

        if (n == NGX_ERROR || n == 0) {
            ngx_http_outage_redis_lost(rd);
            return;
        }

        rd->send_pos += n;
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_outage_redis_drop(rd, "cannot add a write event", NULL, 0);
    }
}


static void
ngx_http_outage_redis_read_handler(ngx_event_t *rev)
{
    u_char                    buf[NGX_HTTP_OUTAGE_REDIS_READ_CHUNK];
    size_t                    total;
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_http_outage_redis_t  *rd;

    c = rev->data;
    rd = c->data;

    if (ngx_http_outage_redis_connected(rd) != NGX_OK) {
        return;
    }

    total = 0;

    /*
     * Read until EAGAIN (the connection is edge-triggered under epoll), or
     * until the budget is spent and the event is posted for the next
     * cycle; feed the reader one chunk at a time and let it consume what it
     * can: what stays unconsumed is one incomplete value, which is bounded.
     */

    for ( ;; ) {

        if (total >= NGX_HTTP_OUTAGE_REDIS_READ_BUDGET) {
            /*
             * A peer that never pauses (skipped invalidations back to
             * back) must not keep the worker from its requests: the rest
             * is read after the events waiting now (posted_next: the
             * posted queue itself is run until it is empty).
             */
            ngx_post_event(rev, &ngx_posted_next_events);
            return;
        }

        rd->said_len = 0;

        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

#if (NGX_SSL)
        if (n == NGX_ERROR && c->ssl) {
            ngx_http_outage_redis_tls_error(rd);
            return;
        }
#endif

        if (n == NGX_ERROR || n == 0) {
            ngx_http_outage_redis_lost(rd);
            return;
        }

        total += n;
        rd->progress = ngx_current_msec;

        if (rd->push) {
            if (ngx_http_outage_redis_push_feed(rd, buf, n) != NGX_OK) {
                return;     /* closed */
            }

            continue;
        }

        if (ngx_http_outage_redis_feed(rd, buf, n) != NGX_OK) {
            return;     /* closed */
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_outage_redis_drop(rd, "cannot add a read event", NULL, 0);
    }
}


/*
 * The poll link's bytes, through the filter that takes a string over
 * BULK_MAX out of the stream (hiredis would hold it whole): the reader
 * gets an empty string in its place, which create_string() knows by
 * skip_len, and the scope it belongs to keeps its last good state.
 */

static ngx_int_t
ngx_http_outage_redis_feed(ngx_http_outage_redis_t *rd, u_char *buf,
    size_t n)
{
    int      rc;
    size_t   used, len;
    u_char  *p;
    u_char   out[NGX_HTTP_OUTAGE_REDIS_READ_CHUNK + NGX_HTTP_OUTAGE_RESP_LINE];

    while (n) {
        rc = ngx_http_outage_resp_cut(&rd->cutter, buf, n, &used, out, &len);

        buf += used;
        n -= used;

        if (len) {
            if (ngx_http_outage_redis_reader_feed(rd, out, len) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        if (rc == NGX_HTTP_OUTAGE_RESP_CUT_MORE) {
            continue;
        }

        if (rc == NGX_HTTP_OUTAGE_RESP_CUT_SKIP && rd->in_exec) {
            /* "the next string is the one skipped", then the string */
            rd->skip_len = (size_t) rd->cutter.skipped;

            rc = ngx_http_outage_redis_reader_feed(rd,
                                                   (u_char *) "$0\r\n\r\n", 6);
            rd->skip_len = 0;

            if (rc != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        /* beyond the cap; or a big string that no command of ours asks */
        if (rc == NGX_HTTP_OUTAGE_RESP_CUT_SKIP) {
            p = ngx_snprintf(rd->refused, 96, "a value of %uL bytes "
                             "(at most %uz)", rd->cutter.skipped,
                             (size_t) NGX_HTTP_OUTAGE_REDIS_VALUE_MAX);
        } else {
            p = ngx_cpystrn(rd->refused, (u_char *) rd->cutter.reason, 96);
        }

        rd->refused_len = p - rd->refused;
        ngx_http_outage_redis_pending(rd);
        ngx_http_outage_redis_refused(rd, p);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* bytes for the reader, and the replies they complete; NGX_ERROR: closed */

static ngx_int_t
ngx_http_outage_redis_reader_feed(ngx_http_outage_redis_t *rd, u_char *p,
    size_t n)
{
    if (redisReaderFeed(rd->reader, (const char *) p, n) != REDIS_OK) {
        ngx_http_outage_redis_drop(rd, "unreadable reply", rd->reader->errstr,
                                   ngx_strlen(rd->reader->errstr));
        return NGX_ERROR;
    }

    return ngx_http_outage_redis_parse(rd);
}


/* every complete reply in the reader, in order; NGX_ERROR: link closed */

static ngx_int_t
ngx_http_outage_redis_parse(ngx_http_outage_redis_t *rd)
{
    u_char      *p;
    void        *reply;
    size_t       max;
    ngx_int_t    rc;
    redisReader *r;

    r = rd->reader;

    for ( ;; ) {
        if (redisReaderGetReply(r, &reply) != REDIS_OK) {

            if (rd->refused_len) {
                ngx_http_outage_redis_refused(rd,
                                              rd->refused + rd->refused_len);
            } else {
                ngx_http_outage_redis_drop(rd, "unreadable reply", r->errstr,
                                           ngx_strlen(r->errstr));
            }

            return NGX_ERROR;
        }

        if (reply == NULL) {
            break;
        }

        rc = ngx_http_outage_redis_reply(rd, reply);

        /* the reply was the pool's only content */
        rd->used = 0;
        rd->in_exec = 0;
        ngx_reset_pool(rd->pool);

        if (rc != NGX_OK || rd->reader == NULL) {
            return NGX_ERROR;
        }
    }

    /*
     * What the reader holds now is the start of one value (a bulk string
     * or a line waiting for its CRLF): refuse it as soon as it is longer
     * than any value the module accepts, before it is read to its end.
     * Inside EXEC a value up to BULK_MAX is read, and cut.
     */

    max = rd->in_exec ? NGX_HTTP_OUTAGE_REDIS_BULK_MAX
                      : NGX_HTTP_OUTAGE_REDIS_VALUE_MAX;

    if (r->len - r->pos > max + 32) {
        p = ngx_snprintf(rd->refused, sizeof(rd->refused),
                         "more than %uz bytes without a complete value", max);
        ngx_http_outage_redis_pending(rd);
        ngx_http_outage_redis_refused(rd, p);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* a reply refused: what rd->refused says up to p, and the key being read */

static void
ngx_http_outage_redis_refused(ngx_http_outage_redis_t *rd, u_char *p)
{
    p = ngx_http_outage_redis_refused_key(rd, p);

    ngx_http_outage_redis_drop(rd, "reply refused", (const char *) rd->refused,
                               p - rd->refused);
}


/* one complete reply, matched to the command it answers */

static ngx_int_t
ngx_http_outage_redis_reply(ngx_http_outage_redis_t *rd, redisReply *reply)
{
    ngx_uint_t  kind;

    if (rd->push) {
        return ngx_http_outage_redis_push_reply(rd, reply);
    }

    if (!rd->in_flight || rd->next_kind >= rd->nkinds) {
        ngx_http_outage_redis_drop(rd, "unexpected reply (no command was "
                                   "sent)", NULL, 0);
        return NGX_ERROR;
    }

    kind = rd->kinds[rd->next_kind++];

    switch (kind) {

    case NGX_HTTP_OUTAGE_REDIS_AUTH:
    case NGX_HTTP_OUTAGE_REDIS_SELECT:

        if (reply->type == REDIS_REPLY_ERROR) {
            /* e.g. WRONGPASS: the queued poll cannot succeed either */
            ngx_http_outage_redis_failed(rd, kind == NGX_HTTP_OUTAGE_REDIS_AUTH
                                             ? "AUTH" : "SELECT",
                                         reply->str,
                                         ngx_http_outage_redis_error_len(reply));
            ngx_http_outage_redis_close(rd);
            return NGX_ERROR;
        }

        return NGX_OK;

    case NGX_HTTP_OUTAGE_REDIS_QUEUED:
        /* a refused command makes EXEC fail: reported there, once */
        return NGX_OK;

    case NGX_HTTP_OUTAGE_REDIS_INFO_MEMORY:
    case NGX_HTTP_OUTAGE_REDIS_INFO_REPL:
    case NGX_HTTP_OUTAGE_REDIS_INFO_STATS:
        return ngx_http_outage_redis_info(rd, kind, reply);

    case NGX_HTTP_OUTAGE_REDIS_QUEUED_PTTL:
        /*
         * An ACL user of an older release: +get +hgetall, no +pttl.  Only
         * NOPERM says so: -LOADING, -BUSY, -MASTERDOWN refuse every
         * command, and EXEC's error is then reported as a failed poll.
         */
        if (reply->type == REDIS_REPLY_ERROR && reply->len >= 6
            && ngx_strncmp(reply->str, "NOPERM", 6) == 0
            && ngx_strlcasestrn((u_char *) reply->str,
                                (u_char *) reply->str + reply->len,
                                (u_char *) "'pttl'", 6 - 1)
               != NULL)
        {
            /* the command, not a key outside the user's patterns */
            rd->pttl_refused = 1;
        }

        return NGX_OK;

    default: /* NGX_HTTP_OUTAGE_REDIS_EXEC */
        break;
    }

    rd->in_flight = 0;

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
    }

    if (reply->type == REDIS_REPLY_ERROR && rd->pttl_refused
        && rd->per_scope == NGX_HTTP_OUTAGE_REDIS_PER_SCOPE)
    {
        /*
         * Only PTTL was refused: poll without it from now on (this
         * process), and say once what is lost.  The link stays: EXEC's
         * refusal discarded the transaction, nothing else.
         */
        rd->per_scope = NGX_HTTP_OUTAGE_REDIS_PER_SCOPE - 1;

        if (ngx_http_outage_redis_format(rd, (ngx_cycle_t *) ngx_cycle)
            != NGX_OK)
        {
            rd->per_scope = NGX_HTTP_OUTAGE_REDIS_PER_SCOPE;
            ngx_http_outage_redis_failed(rd, "poll failed", reply->str,
                                     ngx_http_outage_redis_error_len(reply));
            ngx_http_outage_redis_close(rd);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: redis: the Redis user may not run PTTL, "
                      "polling without it: a key's expiry (SET ... EX) is "
                      "not known to nginx, and ends only when Redis is read "
                      "again; grant +pttl (docs/redis.md)");

        ngx_http_outage_redis_poll_now(rd);
        return NGX_OK;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* e.g. NOAUTH or a read-only replica's refusal: drop, retry later */
        ngx_http_outage_redis_failed(rd, "poll failed", reply->str,
                                     ngx_http_outage_redis_error_len(reply));
        ngx_http_outage_redis_close(rd);
        return NGX_ERROR;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements
           != rd->per_scope * rd->omcf->scopes.nelts)
    {
        ngx_http_outage_redis_failed(rd, "unexpected reply to EXEC (not an "
                                     "array of GET/HGETALL/PTTL results)", NULL, 0);
        ngx_http_outage_redis_close(rd);
        return NGX_ERROR;
    }

    ngx_http_outage_redis_store(rd, reply);

    rd->tls_said_len = 0;

    if (rd->info_told == 1) {
        /* INFO was refused: the next polls go without it */
        rd->info_told = 2;

        if (ngx_http_outage_redis_format(rd, (ngx_cycle_t *) ngx_cycle)
            != NGX_OK)
        {
            ngx_http_outage_redis_close(rd);
            return NGX_ERROR;
        }
    }

    if (rd->again) {
        rd->again = 0;
        ngx_http_outage_redis_kick();
    }

    return NGX_OK;
}


/*
 * What INFO says of the server.  A replica serves the copy it had when its
 * link to the primary went down (replica-serve-stale-data yes, the
 * default): read as current, a cleared incident would stay and a new one
 * stay hidden for as long as the link is down, and max_stale never apply.
 * So a replica not linked to its primary is a failed poll, and the poller
 * goes on to the next address.  An eviction policy is said once per
 * policy; evicted_keys tells store() whether a key that vanished may have
 * been evicted.  A server that refuses INFO (ACL, a proxy) or answers
 * without these fields is polled as before: said once per process.
 */

static ngx_int_t
ngx_http_outage_redis_info(ngx_http_outage_redis_t *rd, ngx_uint_t kind,
    redisReply *reply)
{
    u_char                        *v, *m, buf[160], *p;
    size_t                         n, mn;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_redis_addr_t  *a;

    a = rd->omcf->redis_addrs->elts;
    a = &a[rd->addr % rd->omcf->redis_addrs->nelts];

    if (reply->type == REDIS_REPLY_ERROR) {
        /*
         * An ACL without +info, a proxy that does not know INFO: not asked
         * again by this process (each refusal would land in ACL LOG); the
         * poll after this one goes without it, see reply().  Another error
         * (-LOADING...) only leaves this poll without an answer.
         */
        n = ngx_http_outage_redis_error_len(reply);

        if (!rd->info_told
            && ((n >= 6 && ngx_strncmp(reply->str, "NOPERM", 6) == 0)
                || ngx_strlcasestrn((u_char *) reply->str,
                                    (u_char *) reply->str + n,
                                    (u_char *) "unknown command", 15 - 1)
                   != NULL))
        {
            rd->info_told = 1;

            /* Redis's text, escaped for the log */
            n = ngx_http_outage_log_preview(buf, sizeof(buf),
                                            (u_char *) reply->str, n);

            ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                          "outage: redis at %V refuses INFO (%*s): whether "
                          "it is a replica cut off from its primary, and "
                          "whether it evicted keys, is not checked; grant "
                          "+info and reload (docs/redis.md)", &a->name,
                          n, buf);
        }

        return NGX_OK;
    }

    switch (kind) {

    case NGX_HTTP_OUTAGE_REDIS_INFO_MEMORY:

        n = ngx_http_outage_redis_info_word(reply, "maxmemory_policy", &v);

        if (n == 0 || n > sizeof(rd->policy)) {
            return NGX_OK;
        }

        shm = ngx_http_outage_shm();
        ngx_http_outage_shm_lock();
        ngx_memcpy(shm->redis_policy, v, n);
        shm->redis_policy_len = n;
        ngx_http_outage_shm_unlock();

        if ((n == 10 && ngx_strncmp(v, "noeviction", 10) == 0)
            || (n == rd->policy_len && ngx_strncmp(v, rd->policy, n) == 0))
        {
            rd->policy_len = n;
            ngx_memcpy(rd->policy, v, n);
            return NGX_OK;
        }

        rd->policy_len = n;
        ngx_memcpy(rd->policy, v, n);

        mn = ngx_http_outage_redis_info_word(reply, "maxmemory", &m);

        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: redis at %V may evict keys under memory "
                      "pressure (maxmemory_policy %*s, maxmemory %*s): an "
                      "evicted incident key reads as the incident's end; "
                      "use a Redis or db with noeviction (docs/redis.md)",
                      &a->name, n, v, mn ? mn : 1, mn ? m : (u_char *) "?");
        return NGX_OK;

    case NGX_HTTP_OUTAGE_REDIS_INFO_STATS:

        n = ngx_http_outage_redis_info_word(reply, "evicted_keys", &v);

        if (n && n <= 19 && v[0] >= '0' && v[0] <= '9') {
            rd->evicted_now = 0;

            while (n--) {
                rd->evicted_now = rd->evicted_now * 10 + (*v++ - '0');
            }
        }

        return NGX_OK;

    default: /* NGX_HTTP_OUTAGE_REDIS_INFO_REPL */
        break;
    }

    /*
     * A new replication id: this server restarted (without persistence its
     * data is gone) or a replica took over; store() tells a vanished key.
     */
    n = ngx_http_outage_redis_info_word(reply, "master_replid", &v);

    if (n && n <= sizeof(rd->replid_now)) {
        ngx_memcpy(rd->replid_now, v, n);
        rd->replid_now_len = n;
    }

    /*
     * The return to the first address from a replica in sync: only to the
     * primary that replica follows (the same replication id).  After a
     * failover to a server not listed, the first address may be the old
     * primary, back with its old data (review s12 R8 F2).
     */
    if (rd->preferring && rd->replid_len
        && (n != rd->replid_len || ngx_memcmp(v, rd->replid, n) != 0))
    {
        p = ngx_snprintf(buf, sizeof(buf), "its replication id is not the "
                         "one of the primary the replica left follows (an "
                         "old primary after a failover?)");

        ngx_http_outage_redis_drop(rd, "not the primary of the replica",
                                   (const char *) buf, p - buf);
        return NGX_ERROR;
    }

    rd->on_replica = 0;

    n = ngx_http_outage_redis_info_word(reply, "role", &v);

    if (!(n == 5 && ngx_strncmp(v, "slave", 5) == 0)
        && !(n == 7 && ngx_strncmp(v, "replica", 7) == 0))
    {
        return NGX_OK;      /* a primary, or a server that does not say */
    }

    n = ngx_http_outage_redis_info_word(reply, "master_link_status", &v);

    if (n == 2 && ngx_strncmp(v, "up", 2) == 0) {
        rd->on_replica = 1;
        return NGX_OK;
    }

    /* no count of seconds: the line is said once per condition, not poll */
    p = ngx_snprintf(buf, sizeof(buf), "master_link_status:%*s, it serves "
                     "a stale copy", n ? n : 7, n ? v : (u_char *) "unknown");

    ngx_http_outage_redis_drop(rd, "a replica cut off from its primary",
                               (const char *) buf, p - buf);
    return NGX_ERROR;
}


/*
 * A field of an INFO reply made of [a-z0-9_.-] (a policy, a role, a
 * count): anything else is no answer, and is neither logged nor shown.
 */

static size_t
ngx_http_outage_redis_info_word(redisReply *reply, const char *name,
    u_char **v)
{
    size_t   n, i;
    u_char  *p, c;

    if (reply->type != REDIS_REPLY_STRING || reply->str == NULL) {
        return 0;
    }

    p = (u_char *) ngx_http_outage_resp_info((const u_char *) reply->str,
                                             reply->len, name, &n);
    if (p == NULL || n > 64) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-' || c == '.'))
        {
            return 0;
        }
    }

    *v = p;
    return n;
}


/*
 * A cluster's redirections ("MOVED 3999 10.0.0.5:6379", "ASK ...") name an
 * address, which the status output must not show: keep their first word.
 */

static size_t
ngx_http_outage_redis_error_len(redisReply *reply)
{
    size_t   len;
    u_char  *p;

    len = reply->len;

    if ((len > 6 && ngx_strncmp(reply->str, "MOVED ", 6) == 0)
        || (len > 4 && ngx_strncmp(reply->str, "ASK ", 4) == 0))
    {
        p = ngx_strlchr((u_char *) reply->str, (u_char *) reply->str + len,
                        ' ');
        len = p - (u_char *) reply->str;
    }

    return len;
}


/* ---- push: key invalidations as "poll now" -------------------------------- */

/* the lease holder keeps the push link open; others have none */

static void
ngx_http_outage_redis_push_start(void)
{
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis_push_link;

    if (rd->omcf == NULL || rd->pc.connection || rd->tick.timer_set) {
        return;     /* push=off, open, or waiting for its retry */
    }

    (void) ngx_http_outage_redis_connect(rd);
}


static void
ngx_http_outage_redis_push_stop(void)
{
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis_push_link;

    if (rd->omcf == NULL) {
        return;
    }

    if (rd->tick.timer_set) {
        ngx_del_timer(&rd->tick);
    }

    ngx_http_outage_redis_close(rd);
    rd->backoff = 0;
    rd->up_since = 0;
}


static void
ngx_http_outage_redis_push_retry(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_quit || ngx_terminate
        || !ngx_http_outage_redis.owner)
    {
        return;     /* the poller's tick starts it again when it owns */
    }

    ngx_http_outage_redis_push_start();
}


/*
 * The push link failed or was refused: said once per condition, at most
 * a notice (polling goes on, and the poll link reports Redis itself), a
 * refusal as a warning; then a retry with backoff.
 */

static void
ngx_http_outage_redis_push_log(ngx_http_outage_redis_t *rd, ngx_uint_t level,
    const char *what, const char *detail, size_t len, ngx_msec_t retry)
{
    u_char                        buf[NGX_HTTP_OUTAGE_ERR_MAX], *p, *last;
    size_t                        n;
    ngx_http_outage_redis_addr_t  *a;

    a = rd->omcf->redis_addrs->elts;
    a = &a[rd->addr % rd->omcf->redis_addrs->nelts];

    last = buf + sizeof(buf);
    p = ngx_http_outage_redis_said_what(buf, last, what, detail, len);
    n = p - buf;

    ngx_http_outage_redis_push_state(rd, level == NGX_LOG_WARN
                                         ? NGX_HTTP_OUTAGE_PUSH_REFUSED
                                         : NGX_HTTP_OUTAGE_PUSH_RECONNECTING,
                                     buf, n);

    if (n != rd->push_said_len || ngx_memcmp(buf, rd->push_said, n) != 0) {
        ngx_memcpy(rd->push_said, buf, n);
        rd->push_said_len = n;

        if (level == NGX_LOG_WARN) {
            ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                          "outage: redis %V refuses key tracking (%*s): "
                          "changes are seen by polling every %M ms",
                          &a->name, n, buf, rd->omcf->redis_interval);
        } else {
            ngx_log_error(level, rd->log, 0,
                          "outage: redis %V push connection: %*s; changes "
                          "are seen by polling every %M ms until it is back",
                          &a->name, n, buf, rd->omcf->redis_interval);
        }
    }

    /*
     * A link that keeps failing soon after subscribing (a message it
     * cannot take, published again and again) backs off like one that
     * cannot connect; only one that stayed up a while starts afresh.
     */
    if (rd->up_since
        && ngx_current_msec - rd->up_since >= NGX_HTTP_OUTAGE_REDIS_PUSH_STABLE)
    {
        rd->backoff = 0;
    }

    rd->up_since = 0;

    if (retry == 0) {
        rd->backoff = rd->backoff ? ngx_min(2 * rd->backoff,
                                            NGX_HTTP_OUTAGE_REDIS_PUSH_MAX)
                                  : NGX_HTTP_OUTAGE_REDIS_PUSH_MIN;
        retry = rd->backoff;
    }

    if (rd->tick.timer_set) {
        ngx_del_timer(&rd->tick);
    }

    if (!ngx_exiting && !ngx_quit && !ngx_terminate
        && ngx_http_outage_redis.owner)
    {
        ngx_add_timer(&rd->tick, retry);
    }
}


static void
ngx_http_outage_redis_push_failed(ngx_http_outage_redis_t *rd,
    const char *what, const char *detail, size_t len)
{
    ngx_http_outage_redis_push_log(rd, NGX_LOG_NOTICE, what, detail, len, 0);
}


/* Redis < 6, an ACL without CLIENT|TRACKING or the channel, a proxy */

static ngx_int_t
ngx_http_outage_redis_push_refused(ngx_http_outage_redis_t *rd,
    const char *what, redisReply *reply)
{
    static const char  text[] = "unexpected reply";

    size_t   len;
    u_char  *e;

    if (reply->type == REDIS_REPLY_ERROR) {
        len = ngx_http_outage_redis_error_len(reply);
        e = (u_char *) reply->str;

        /*
         * Only a lack of rights or of the command is a refusal; a
         * temporary error (max clients, BUSY, LOADING...) is a failure,
         * retried with the usual backoff.
         */
        if (!(len >= 6 && ngx_strncmp(e, "NOPERM", 6) == 0)
            && ngx_strlcasestrn(e, e + len, (u_char *) "unknown", 7 - 1)
               == NULL
            && ngx_strlcasestrn(e, e + len, (u_char *) "not supported",
                                13 - 1) == NULL
            && ngx_strlcasestrn(e, e + len, (u_char *) "unsupported", 11 - 1)
               == NULL)
        {
            ngx_http_outage_redis_push_failed(rd, what, reply->str, len);
            ngx_http_outage_redis_close(rd);
            return NGX_ERROR;
        }


        ngx_http_outage_redis_push_log(rd, NGX_LOG_WARN, what, reply->str,
                                       ngx_http_outage_redis_error_len(reply),
                                       NGX_HTTP_OUTAGE_REDIS_PUSH_REFUSED);
    } else {
        ngx_http_outage_redis_push_log(rd, NGX_LOG_WARN, what, text,
                                       sizeof(text) - 1,
                                       NGX_HTTP_OUTAGE_REDIS_PUSH_REFUSED);
    }

    ngx_http_outage_redis_close(rd);

    return NGX_ERROR;
}


static ngx_uint_t
ngx_http_outage_redis_is(redisReply *r, const char *s)
{
    size_t  len;

    len = ngx_strlen(s);

    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
           && r->len == len && ngx_strncasecmp((u_char *) r->str, (u_char *) s,
                                               len) == 0;
}


/* ["subscribe"|"message", "__redis__:invalidate", ...] */

static ngx_uint_t
ngx_http_outage_redis_is_push(redisReply *reply, const char *kind)
{
    return reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
           && ngx_http_outage_redis_is(reply->element[0], kind)
           && ngx_http_outage_redis_is(reply->element[1],
                                       NGX_HTTP_OUTAGE_REDIS_CHANNEL);
}


/* after CLIENT ID: track the prefix for this very connection, subscribe */

static ngx_int_t
ngx_http_outage_redis_push_subscribe(ngx_http_outage_redis_t *rd,
    long long id)
{
    int                           n, m;
    char                         *cmd, *sub;
    u_char                        num[NGX_INT64_LEN];
    size_t                        lens[8];
    ngx_uint_t                    k;
    const char                   *args[8];
    ngx_http_outage_main_conf_t  *omcf;

    omcf = rd->omcf;

    k = 0;
    args[k] = "CLIENT";    lens[k++] = 6;
    args[k] = "TRACKING";  lens[k++] = 8;
    args[k] = "ON";        lens[k++] = 2;
    args[k] = "REDIRECT";  lens[k++] = 8;
    args[k] = (const char *) num;
    lens[k++] = ngx_sprintf(num, "%L", id) - num;
    args[k] = "BCAST";     lens[k++] = 5;

    if (omcf->redis_prefix.len) {
        args[k] = "PREFIX";    lens[k++] = 6;
        args[k] = (const char *) omcf->redis_prefix.data;
        lens[k++] = omcf->redis_prefix.len;
    }

    n = redisFormatCommandArgv(&cmd, (int) k, args, lens);
    if (n < 0) {
        return NGX_ERROR;
    }

    args[0] = "SUBSCRIBE";
    lens[0] = 9;
    args[1] = NGX_HTTP_OUTAGE_REDIS_CHANNEL;
    lens[1] = sizeof(NGX_HTTP_OUTAGE_REDIS_CHANNEL) - 1;

    m = redisFormatCommandArgv(&sub, 2, args, lens);
    if (m < 0) {
        redisFreeCommand(cmd);
        return NGX_ERROR;
    }

    if ((size_t) (n + m) > sizeof(rd->track)) {
        redisFreeCommand(cmd);
        redisFreeCommand(sub);
        return NGX_ERROR;
    }

    ngx_memcpy(rd->track, cmd, n);
    ngx_memcpy(rd->track + n, sub, m);
    redisFreeCommand(cmd);
    redisFreeCommand(sub);

    rd->send_pos = rd->track;
    rd->send_last = rd->track + n + m;

    return NGX_OK;
}


static ngx_int_t
ngx_http_outage_redis_push_reply(ngx_http_outage_redis_t *rd,
    redisReply *reply)
{
    ngx_http_outage_redis_addr_t  *a;

    switch (rd->pstate) {

    case NGX_HTTP_OUTAGE_REDIS_AUTH:

        if (reply->type == REDIS_REPLY_ERROR) {
            /* the poll link says the same, as an error */
            ngx_http_outage_redis_drop(rd, "AUTH", reply->str,
                                       ngx_http_outage_redis_error_len(reply));
            return NGX_ERROR;
        }

        rd->pstate = NGX_HTTP_OUTAGE_REDIS_CLIENT_ID;
        return NGX_OK;

    case NGX_HTTP_OUTAGE_REDIS_CLIENT_ID:

        if (reply->type != REDIS_REPLY_INTEGER) {
            return ngx_http_outage_redis_push_refused(rd, "CLIENT ID", reply);
        }

        if (ngx_http_outage_redis_push_subscribe(rd, reply->integer)
            != NGX_OK)
        {
            ngx_http_outage_redis_drop(rd, "cannot format CLIENT TRACKING",
                                       NULL, 0);
            return NGX_ERROR;
        }

        rd->pstate = NGX_HTTP_OUTAGE_REDIS_TRACKING;

        /*
         * A second round trip: its reply has timeout= from this write, as
         * every command's (del first: ngx_add_timer() keeps a timer moved
         * by less than NGX_TIMER_LAZY_DELAY)
         */
        if (rd->deadline.timer_set) {
            ngx_del_timer(&rd->deadline);
        }

        ngx_add_timer(&rd->deadline, rd->omcf->redis_timeout);

        ngx_http_outage_redis_write_handler(rd->pc.connection->write);

        return NGX_OK;

    case NGX_HTTP_OUTAGE_REDIS_TRACKING:

        if (reply->type != REDIS_REPLY_STATUS) {
            return ngx_http_outage_redis_push_refused(rd, "CLIENT TRACKING",
                                                      reply);
        }

        rd->pstate = NGX_HTTP_OUTAGE_REDIS_SUBSCRIBE;
        return NGX_OK;

    case NGX_HTTP_OUTAGE_REDIS_SUBSCRIBE:

        if (!ngx_http_outage_redis_is_push(reply, "subscribe")) {
            return ngx_http_outage_redis_push_refused(rd, "SUBSCRIBE", reply);
        }

        rd->pstate = NGX_HTTP_OUTAGE_REDIS_MESSAGE;
        rd->in_flight = 0;
        rd->up_since = ngx_current_msec ? ngx_current_msec : 1;

        if (rd->deadline.timer_set) {
            ngx_del_timer(&rd->deadline);
        }

        ngx_http_outage_redis_push_state(rd, NGX_HTTP_OUTAGE_PUSH_SUBSCRIBED,
                                         NULL, 0);
        ngx_http_outage_redis_push_idle(rd);

        if (!rd->told_on) {
            rd->told_on = 1;
            a = rd->omcf->redis_addrs->elts;
            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "outage: redis %V pushes changes of \"%V*\" "
                          "(CLIENT TRACKING); polling every %M ms stays the "
                          "safety net",
                          &a[rd->addr % rd->omcf->redis_addrs->nelts].name,
                          &rd->omcf->redis_prefix, rd->omcf->redis_interval);
        }

        /* whatever changed while there was no push link */
        ngx_http_outage_redis_kick();
        return NGX_OK;

    default: /* NGX_HTTP_OUTAGE_REDIS_MESSAGE */
        break;
    }

    if (!ngx_http_outage_redis_is_push(reply, "message")) {

        /*
         * Redis answers in order, and invalidations are messages: what is
         * not one, while a PING waits, is its reply (or a broken peer's,
         * which pong() refuses).  Never the other way round: a message is
         * an invalidation even while a PING waits, and a "pong" nobody
         * asked for is not a change.
         */
        if (rd->pinged) {
            return ngx_http_outage_redis_push_pong(rd, reply);
        }

        ngx_http_outage_redis_drop(rd, "unexpected message (not an "
                                   "invalidation)", NULL, 0);
        return NGX_ERROR;
    }

    ngx_http_outage_redis_push_works(rd);

    ngx_http_outage_redis_kick();

    return NGX_OK;
}


/* said once it has held a while, not at each of a flapping link's ups */

static void
ngx_http_outage_redis_push_works(ngx_http_outage_redis_t *rd)
{
    if (rd->push_said_len
        && ngx_current_msec - rd->up_since >= NGX_HTTP_OUTAGE_REDIS_PUSH_STABLE)
    {
        rd->push_said_len = 0;
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "outage: redis push connection works again");
    }
}


/*
 * The push link's bytes, reply by reply: each goes to the reader, except
 * an invalidation too big for it, which is walked to its end without being
 * kept (the reader's part of it thrown away) and read as "something under
 * the prefix changed": the link stays, and the poll says what.
 */

static ngx_int_t
ngx_http_outage_redis_push_feed(ngx_http_outage_redis_t *rd, u_char *p,
    size_t n)
{
    int                      rc;
    u_char                   buf[160];
    size_t                   used, len;
    ngx_uint_t               ended;
    ngx_http_outage_resp_t  *w;

    w = &rd->walk;
    rc = NGX_HTTP_OUTAGE_RESP_END;
    ended = 0;

    while (n) {
        rc = ngx_http_outage_resp_walk(w, p, n, &used);

        if (rc == NGX_HTTP_OUTAGE_RESP_BAD) {
            ngx_http_outage_redis_drop(rd,
                                       ngx_strncmp(w->reason, "Protocol", 8)
                                       == 0 ? "unreadable reply"
                                            : "reply refused",
                                       w->reason, ngx_strlen(w->reason));
            return NGX_ERROR;
        }

        if (w->over && rd->pstate == NGX_HTTP_OUTAGE_REDIS_MESSAGE) {

            if (w->top != '*') {
                /*
                 * Only a message (an array) may be an invalidation; a huge
                 * error, status or string here is a broken peer, not a
                 * bulk writer: refused as before the walker, said so.
                 */
                len = ngx_snprintf(buf, sizeof(buf), "%s, and not an "
                                   "invalidation", w->reason) - buf;
                ngx_http_outage_redis_drop(rd, "reply refused",
                                           (const char *) buf, len);
                return NGX_ERROR;
            }

            if (!rd->skipping) {
                if (ngx_http_outage_redis_new_reader(rd) != NGX_OK) {
                    ngx_http_outage_redis_drop(rd, "cannot allocate a reader",
                                               NULL, 0);
                    return NGX_ERROR;
                }

                rd->skipping = 1;
            }

        } else {
            /* before the subscription, what the reader refuses drops it */

            if (ngx_http_outage_redis_reader_feed(rd, p, used) != NGX_OK) {
                return NGX_ERROR;   /* closed */
            }
        }

        if (rc == NGX_HTTP_OUTAGE_RESP_END) {
            ended = 1;
            rd->ends++;

            if (rd->skipping) {
                rd->skipping = 0;

                if (!(w->head_len == 7
                      && ngx_strncasecmp(w->head, (u_char *) "message", 7)
                         == 0))
                {
                    /*
                     * Too big, and not a message: no invalidation to poll
                     * for, and while a PING waits, no silence either (a
                     * pong with a payload, echoed or a peer's garbage):
                     * said for what it is.
                     */
                    len = ngx_snprintf(buf, sizeof(buf), "%s%s",
                                       rd->pinged ? "too big: " : "too big, "
                                       "and not an invalidation: ", w->reason)
                          - buf;
                    ngx_http_outage_redis_drop(rd, rd->pinged
                                               ? "unexpected reply to PING"
                                               : "unexpected message",
                                               (const char *) buf, len);
                    return NGX_ERROR;
                }

                ngx_http_outage_redis_push_skipped(rd);
            }
        }

        p += used;
        n -= used;
    }

    /*
     * Subscribed, the link has no command in flight and so no deadline,
     * and a silent link is an idle one.  A message that has begun is
     * another matter: a peer or proxy that stops in the middle of one
     * would hold every later invalidation behind it with the connection
     * open.  A message must arrive whole within timeout=, as a poll's
     * reply must, counted from its first byte (a trickle does not extend
     * it); then the link is dropped and opened again.  A message that
     * ended in these bytes means the unfinished one began in them: its
     * bound starts now (messages back to back are not one long message).
     */
    if (rd->pstate == NGX_HTTP_OUTAGE_REDIS_MESSAGE) {
        if (rc == NGX_HTTP_OUTAGE_RESP_MORE) {
            if (ended && rd->deadline.timer_set) {
                /* not ngx_add_timer() alone: it keeps a timer moved by
                 * less than NGX_TIMER_LAZY_DELAY, which with a short
                 * timeout= would end a message begun just now */
                ngx_del_timer(&rd->deadline);
            }

            if (!rd->deadline.timer_set) {
                ngx_add_timer(&rd->deadline, rd->omcf->redis_timeout);
            }

        } else if (rd->deadline.timer_set) {
            ngx_del_timer(&rd->deadline);
        }

        /*
         * Bytes came: the link is not silent.  Idle, its silence starts
         * again now; with a PING waiting, its reply is behind these bytes
         * (Redis answers in order, after what it had queued): it is due
         * timeout= after the last of them, so that a burst of changes
         * just after the PING is not taken for a cut path.
         */
        if (rd->pinged && rd->ping.timer_set) {
            /* as for the deadline above: a move by less than
             * NGX_TIMER_LAZY_DELAY would otherwise be ignored */
            ngx_del_timer(&rd->ping);
        }

        ngx_add_timer(&rd->ping, rd->pinged ? rd->omcf->redis_timeout
                                            : rd->omcf->redis_ping);
    }

    return NGX_OK;
}


/* a message begun and not finished within timeout=: drop, reconnect */

static void
ngx_http_outage_redis_push_stalled(ngx_http_outage_redis_t *rd)
{
    u_char  buf[128];
    size_t  len;

    /*
     * What was seen, in words that do not change from one stall to the
     * next (the bytes received do), so that a proxy that stalls every
     * link it carries gives one line, not one per reconnect.
     */
    len = ngx_snprintf(buf, sizeof(buf), "part of a message, then nothing "
                       "for %M ms (timeout=)", rd->omcf->redis_timeout)
          - buf;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, rd->log, 0,
                   "outage: redis push link stalled after %uL bytes of a "
                   "message", (unsigned long long) rd->walk.bytes);

    ngx_http_outage_redis_drop(rd, "stalled mid-message", (const char *) buf,
                               len);
}


/*
 * A subscribed link has nothing in flight, so a path cut without a FIN or
 * an RST (a NAT or firewall that forgot the connection, a Redis host gone,
 * a stopped server) would look idle until the kernel gives up, hours
 * later, while push quietly stops.  After ping= of silence the link is
 * asked: PING, whose reply (RESP2, subscribed: ["pong", ""]) must come
 * within timeout=, or the link is dropped and reopened with the backoff.
 * Any byte received restarts the silence, so a link that carries changes
 * sends no PING, and an idle one sends one per ping=.  The PING also keeps
 * the state of NATs and firewalls on the way fresh.
 */

static void
ngx_http_outage_redis_push_idle(ngx_http_outage_redis_t *rd)
{
    ngx_add_timer(&rd->ping, rd->omcf->redis_ping);
}


static void
ngx_http_outage_redis_push_ping(ngx_event_t *ev)
{
    u_char                    buf[128];
    size_t                    len;
    ngx_connection_t         *dummy;
    ngx_http_outage_shm_t    *shm;
    ngx_http_outage_redis_t  *rd;

    static u_char  ping[] = "*1\r\n$4\r\nPING\r\n";

    dummy = ev->data;
    rd = dummy->data;

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        ngx_http_outage_redis_close(rd);
        return;
    }

    if (rd->pc.connection == NULL
        || rd->pstate != NGX_HTTP_OUTAGE_REDIS_MESSAGE)
    {
        return;
    }

    if (rd->pinged) {
        ngx_http_outage_redis_read_now(rd);

        if (rd->pc.connection == NULL || !rd->pinged || rd->ping.timer_set) {
            return;     /* closed, answered, or bytes came: not silent */
        }

        /* the same words each time: a path that keeps dying says it once */
        len = ngx_snprintf(buf, sizeof(buf), "no reply to PING within %M ms "
                           "(timeout=) after %M ms of silence (ping=): the "
                           "connection is cut or the server stopped",
                           rd->omcf->redis_timeout, rd->omcf->redis_ping)
              - buf;

        ngx_http_outage_redis_drop(rd, "silent", (const char *) buf, len);
        return;
    }

    if (rd->send_pos < rd->send_last) {
        /* bytes still queued (cannot be, subscribed): wait for them */
        ngx_http_outage_redis_push_idle(rd);
        return;
    }

    rd->pinged = 1;
    rd->send_pos = ping;
    rd->send_last = ping + sizeof(ping) - 1;

    shm = ngx_http_outage_shm();
    ngx_http_outage_shm_lock();
    shm->push_pings++;
    ngx_http_outage_shm_unlock();

    /* before the write: a write that fails closes the link and the timer */
    ngx_add_timer(&rd->ping, rd->omcf->redis_timeout);

    ngx_http_outage_redis_write_handler(rd->pc.connection->write);
}


/*
 * What came while a PING waited and is not a message: its reply.  Redis
 * 6 and 7 answer ["pong", ""] on a RESP2 subscribed connection (the PING
 * page of redis.io); some servers that speak RESP answer +PONG there, as
 * outside a subscription (Garnet): taken too.  An error (-NOPERM from a
 * user made without +ping, -LOADING) still proves the path alive, and is
 * said once.  Anything else is a broken peer's: dropped as any unexpected
 * reply.
 */

static ngx_int_t
ngx_http_outage_redis_push_pong(ngx_http_outage_redis_t *rd,
    redisReply *reply)
{
    u_char                         buf[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                         len;
    ngx_http_outage_redis_addr_t  *a;

    if (reply->type == REDIS_REPLY_ERROR) {

        if (!rd->ping_told) {
            rd->ping_told = 1;
            len = ngx_http_outage_redis_error_len(reply);

            /* the server's words: escaped, as every Redis text logged */
            len = ngx_http_outage_log_preview(buf, sizeof(buf),
                                              (const u_char *) reply->str,
                                              ngx_min(len, 120));
            a = rd->omcf->redis_addrs->elts;

            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "outage: redis %V push connection: PING refused "
                          "(%*s); the refusal proves the connection alive "
                          "as well, but lands in ACL LOG every %M ms: grant "
                          "\"+ping\" to the user",
                          &a[rd->addr % rd->omcf->redis_addrs->nelts].name,
                          len, buf, rd->omcf->redis_ping);
        }

    } else if (!(reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                 && ngx_http_outage_redis_is(reply->element[0], "pong"))
               && !(reply->type == REDIS_REPLY_STATUS
                    && ngx_http_outage_redis_is(reply, "PONG")))
    {
        ngx_http_outage_redis_drop(rd, "unexpected reply to PING (neither "
                                   "a pong nor an invalidation)", NULL, 0);
        return NGX_ERROR;
    }

    rd->pinged = 0;

    if (rd->ping.timer_set) {
        ngx_del_timer(&rd->ping);
    }

    ngx_http_outage_redis_push_idle(rd);
    ngx_http_outage_redis_push_works(rd);

    return NGX_OK;
}


/*
 * What the status endpoint shows of the push link: only its lease holder
 * speaks for it (a worker that lost the lease is closing its link).
 */

static void
ngx_http_outage_redis_push_state(ngx_http_outage_redis_t *rd,
    ngx_uint_t state, u_char *error, size_t len)
{
    ngx_http_outage_shm_t  *shm;

    shm = ngx_http_outage_shm();

    ngx_http_outage_shm_lock();

    if (!ngx_http_outage_lease_holds_since(&shm->redis_lease, rd->epoch)) {
        ngx_http_outage_shm_unlock();
        return;
    }

    if (state == NGX_HTTP_OUTAGE_PUSH_CONNECTING
        && (shm->push_state == NGX_HTTP_OUTAGE_PUSH_RECONNECTING
            || shm->push_state == NGX_HTTP_OUTAGE_PUSH_REFUSED))
    {
        /* still reconnecting (or asking again) until it is subscribed */
        ngx_http_outage_shm_unlock();
        return;
    }

    if (shm->push_state != state || shm->push_since == 0) {
        shm->push_state = state;
        shm->push_since = ngx_time();
    }

    if (error) {
        len = ngx_min(len, sizeof(shm->push_error));
        ngx_memcpy(shm->push_error, error, len);
        shm->push_error_len = len;
        shm->push_error_time = ngx_time();
        shm->push_drops++;
    }

    ngx_http_outage_shm_unlock();
}


static void
ngx_http_outage_redis_push_skipped(ngx_http_outage_redis_t *rd)
{
    ngx_http_outage_redis_addr_t  *a;

    rd->skipped++;
    (void) ngx_cpystrn(rd->skip_reason, (u_char *) rd->walk.reason,
                       sizeof(rd->skip_reason));

    /* a stream of them (PUBLISHed in a loop) says so once a minute */
    if (!rd->skip_ever
        || ngx_current_msec - rd->skip_told >= NGX_HTTP_OUTAGE_REDIS_SKIP_LOG)
    {
        a = rd->omcf->redis_addrs->elts;

        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: redis %V push connection: skipped %ui "
                      "invalidation message(s) too big to read (%s), "
                      "polling at once instead",
                      &a[rd->addr % rd->omcf->redis_addrs->nelts].name,
                      rd->skipped, rd->skip_reason);

        rd->skip_ever = 1;
        rd->skip_told = ngx_current_msec;
        rd->skipped = 0;

    } else if (!rd->skip_later.timer_set) {
        /*
         * Those within the minute are counted, and told when it is over
         * even if no other comes: a burst must not read as one skip.
         */
        ngx_add_timer(&rd->skip_later, NGX_HTTP_OUTAGE_REDIS_SKIP_LOG
                                       - (ngx_current_msec - rd->skip_told));
    }

    ngx_http_outage_redis_kick();
}


static void
ngx_http_outage_redis_push_skipped_later(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    c = ev->data;

    ngx_http_outage_redis_push_skipped_log(c->data);
}


/* the skips counted since the last line, if any (a timer, or the exit) */

static void
ngx_http_outage_redis_push_skipped_log(ngx_http_outage_redis_t *rd)
{
    ngx_http_outage_redis_addr_t  *a;

    if (rd->skipped == 0) {
        return;
    }

    a = rd->omcf->redis_addrs->elts;

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "outage: redis %V push connection: skipped %ui more "
                  "invalidation message(s) too big to read since the line "
                  "before (the last: %s), each polled at once",
                  &a[rd->addr % rd->omcf->redis_addrs->nelts].name,
                  rd->skipped, rd->skip_reason);

    rd->skip_told = ngx_current_msec;
    rd->skipped = 0;
}


/* ---- writing the result into the zone ----------------------------------- */

static void
ngx_http_outage_redis_store(ngx_http_outage_redis_t *rd, redisReply *reply)
{
    u_char                        ok[NGX_HTTP_OUTAGE_MAX_SCOPES];
    u_char                        cleared[NGX_HTTP_OUTAGE_MAX_SCOPES];
    u_char                        gone[NGX_HTTP_OUTAGE_MAX_SCOPES];
    time_t                        now;
    uint64_t                      grew;
    ngx_str_t                    *names;
    redisReply                   *get, *hash;
    ngx_uint_t                    i, k, slot, changed, was_up, held;
    ngx_uint_t                    restarted;
    ngx_uint_t                    from[NGX_HTTP_OUTAGE_MAX_SCOPES];
    const char                   *err;
    ngx_http_outage_shm_t        *shm;
    ngx_http_outage_shm_scope_t  *ss;
    ngx_http_outage_main_conf_t  *omcf;

    /* the whole result, parsed before the lock is taken */
    static ngx_http_outage_incident_t  inc[NGX_HTTP_OUTAGE_MAX_SCOPES];

    omcf = rd->omcf;
    shm = ngx_http_outage_shm();
    names = omcf->scopes.elts;
    now = ngx_time();
    changed = 0;
    ngx_memzero(cleared, sizeof(cleared));
    ngx_memzero(gone, sizeof(gone));

    for (i = 0; i < omcf->scopes.nelts; i++) {

        ok[i] = 0;

        if (rd->over[i]
            && rd->over_why[i] != NGX_HTTP_OUTAGE_REDIS_OVER_TYPE)
        {
            /*
             * Too big to be kept: this scope keeps its last good state,
             * said once while it lasts (bad[i] == 1: held; warnings of a
             * usable key are another value), the others are read as usual.
             */
            if (rd->bad[i] != 1) {
                ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                              "outage: redis key \"%V%V\" is too big to "
                              "read (%s %uz bytes, at most %uz), keeping the "
                              "last good state of scope \"%V\"",
                              &omcf->redis_prefix, &names[i],
                              rd->over_why[i] == NGX_HTTP_OUTAGE_REDIS_OVER_VALUE
                              ? "a value of" : "its known fields need",
                              rd->over[i],
                              (size_t) (rd->over_why[i]
                                        == NGX_HTTP_OUTAGE_REDIS_OVER_VALUE
                                        ? NGX_HTTP_OUTAGE_REDIS_BULK_MAX
                                        : NGX_HTTP_OUTAGE_REDIS_KEY_MAX),
                              &names[i]);
                rd->bad[i] = 1;
            }

            continue;
        }

        if (rd->over[i]) {
            err = "a hash element that is not a string";

        } else if (ngx_http_outage_payload_parse(
                       reply->element[rd->per_scope * i],
                       reply->element[rd->per_scope * i + 1],
                                                 &inc[i], &err)
                   == 0)
        {
            err = NULL;
        }

        if (err != NULL) {
            if (rd->bad[i] != 1) {
                if (ngx_http_outage_redis_may_say(rd, i)) {
                    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                                  "outage: redis key \"%V%V\" has an "
                                  "unusable value (%s), keeping the last "
                                  "good state of scope \"%V\"",
                                  &omcf->redis_prefix, &names[i], err,
                                  &names[i]);
                }

                rd->bad[i] = 1;
            }

            continue;
        }

        /* what the reader cut of the key */
        inc[i].warnings |= rd->cut[i];

        /* no key at all (deleted, expired, evicted), not a state "none" */
        get = reply->element[rd->per_scope * i];
        hash = reply->element[rd->per_scope * i + 1];
        gone[i] = get->type == REDIS_REPLY_NIL
                  && hash->type == REDIS_REPLY_ARRAY && hash->elements == 0;

        if (rd->per_scope == NGX_HTTP_OUTAGE_REDIS_PER_SCOPE) {
            inc[i].expires = ngx_http_outage_redis_expires(
                                   reply->element[rd->per_scope * i + 2]);
        }

        if (rd->bad[i] == 1 && ngx_http_outage_redis_may_say(rd, i)) {
            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "outage: redis key \"%V%V\" can be read again",
                          &omcf->redis_prefix, &names[i]);
        }

        if (rd->bad[i] || inc[i].warnings) {
            /* warnings are logged when they change, not at every poll */
            if (inc[i].warnings
                && rd->bad[i] != (inc[i].warnings | 0x80000000u)
                && ngx_http_outage_redis_may_say(rd, i))
            {
                ngx_http_outage_redis_warn(rd, &names[i], inc[i].warnings);
            }

            rd->bad[i] = inc[i].warnings ? (inc[i].warnings | 0x80000000u)
                                         : 0;
        }

        ok[i] = 1;
    }

    /*
     * One MULTI/EXEC, one publication: every scope under one lock and at
     * most one generation bump, so that no reader sees half of a result;
     * and only while this worker still holds the lease (it may have
     * stalled past it, and another worker polled meanwhile).
     */

    ngx_http_outage_shm_lock();

    held = ngx_http_outage_lease_holds_since(&shm->redis_lease, rd->epoch);

    if (!held) {
        shm->redis_dropped++;
        ngx_http_outage_shm_unlock();

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "outage: dropped a late Redis poll result: this "
                      "worker lost the polling lease while it waited (it "
                      "stalled, or a reload retired it)");
        return;
    }

    /*
     * Keys this server evicted since the last poll read from it (a count
     * of another server, or one that went down, as after a restart, is no
     * measure): a key that vanished meanwhile may have been one of them.
     */
    grew = 0;
    k = rd->addr % omcf->redis_addrs->nelts;

    if (rd->evicted_now != (uint64_t) -1) {
        if (rd->evicted_known && rd->evicted_addr == k
            && rd->evicted_now > rd->evicted)
        {
            grew = rd->evicted_now - rd->evicted;
            shm->redis_evicted += grew;
        }

        rd->evicted = rd->evicted_now;
        rd->evicted_known = 1;
        rd->evicted_addr = k;
    }

    /*
     * The replication id changed since the last poll: a restart (an empty
     * Redis without persistence) or a failover; either way a key that
     * vanished meanwhile may have been lost, not deleted.  A replica in
     * sync says its primary's id, so a move between the two is no change,
     * whichever address they are.
     */
    restarted = 0;

    if (rd->replid_now_len) {
        restarted = rd->replid_len
                    && (rd->replid_len != rd->replid_now_len
                        || ngx_memcmp(rd->replid, rd->replid_now,
                                      rd->replid_len) != 0);

        ngx_memcpy(rd->replid, rd->replid_now, rd->replid_now_len);
        rd->replid_len = rd->replid_now_len;
    }

    for (i = 0; i < omcf->scopes.nelts; i++) {
        from[i] = NGX_HTTP_OUTAGE_STATE_NONE;
        slot = ngx_http_outage_scope_slot(i);

        if (slot != NGX_HTTP_OUTAGE_NO_SLOT_SCOPE) {
            /* for the status: the key is not read, its last state is kept */
            shm->scopes[slot].redis_held = (rd->bad[i] == 1);
        }

        if (!ok[i] || slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE) {
            ok[i] = 0;
            continue;
        }

        ss = &shm->scopes[slot];

        /*
         * The expiry is computed anew at each poll: the time the reply
         * took moves it by a few ms, which is no change (no generation
         * bump per poll); EXPIRE, PERSIST or a new SET EX is one.
         */
        if (inc[i].expires && ss->redis.expires
            && inc[i].expires + 1000 > ss->redis.expires
            && ss->redis.expires + 1000 > inc[i].expires)
        {
            inc[i].expires = ss->redis.expires;
        }

        if (ngx_memcmp(&ss->redis, &inc[i], sizeof(inc[i])) == 0) {
            /* read, and unchanged: its state changes may be summed up */
            from[i] = ss->redis.state;
            ok[i] = 2;
            continue;
        }

        from[i] = ss->redis.state;

        if (ss->redis.state != inc[i].state) {
            ss->redis_since = now;
            ss->transitions++;
        }

        ss->redis = inc[i];
        ss->redis_expiry_told = 0;
        ss->redis_evicted = 0;

        if (gone[i] && from[i] != NGX_HTTP_OUTAGE_STATE_NONE) {
            ss->redis_evicted = (grew ? NGX_HTTP_OUTAGE_LOST_EVICTED : 0)
                                | (restarted ? NGX_HTTP_OUTAGE_LOST_RESTART
                                             : 0);
        }
        changed = 1;
    }

    /*
     * This source's first poll: its states are evidence again (shm.c);
     * a key it holds (too big, unusable) still has the previous source's
     * state, which is no evidence of this one: none.
     */
    if (shm->redis_foreign && shm->redis_source == rd->source) {
        shm->redis_foreign = 0;
        changed = 1;

        for (i = 0; i < omcf->scopes.nelts; i++) {
            slot = ngx_http_outage_scope_slot(i);

            if (rd->bad[i] == 1 && slot != NGX_HTTP_OUTAGE_NO_SLOT_SCOPE
                && shm->scopes[slot].redis.state != NGX_HTTP_OUTAGE_STATE_NONE)
            {
                cleared[i] = shm->scopes[slot].redis.state;
                ngx_memzero(&shm->scopes[slot].redis,
                            sizeof(ngx_http_outage_incident_t));
                shm->scopes[slot].redis_since = 0;
            }
        }
    }

    was_up = shm->redis_up;
    shm->redis_up = 1;
    shm->redis_stale_told = 0;
    shm->redis_ever_ok = 1;
    shm->redis_last_ok = now;
    shm->redis_last_ok_ms = ngx_current_msec;
    shm->redis_polls++;

    /*
     * No bump for a poll that changed nothing: readers judge staleness
     * from redis_last_ok in the zone itself.
     */
    if (changed) {
        ngx_http_outage_shm_bump(shm);
    }

    ngx_http_outage_shm_unlock();

    for (i = 0; i < omcf->scopes.nelts; i++) {
        if (cleared[i]) {
            ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                          "outage: scope \"%V\" %s -> none: the new Redis "
                          "source cannot read its key, the previous "
                          "source's state is dropped", &names[i],
                          ngx_http_outage_state_name(cleared[i]));
        }

        if (!ok[i]) {
            continue;
        }

        if (ok[i] == 2 || (ngx_uint_t) inc[i].state == from[i]) {
            ngx_http_outage_redis_said_flaps(rd, i, inc[i].state, &inc[i]);
            continue;
        }

        ngx_http_outage_redis_said_change(rd, i, from[i], &inc[i],
                                          (gone[i] && from[i]
                                           != NGX_HTTP_OUTAGE_STATE_NONE)
                                          ? grew : 0,
                                          gone[i] && restarted
                                          && from[i]
                                             != NGX_HTTP_OUTAGE_STATE_NONE);
    }

    /*
     * On a later address (the first failed once): back to the first after
     * a while, which a primary listed first should be; each return that
     * fails doubles the wait, so that a dead first address costs one
     * connect attempt per PREFER_MAX at most.
     */
    if (k == 0) {
        if (rd->preferring
            && ngx_http_outage_redis_push_link.pc.connection
            && ngx_http_outage_redis_push_link.addr
               % omcf->redis_addrs->nelts != 0)
        {
            /* back without a failure: ok() is not called, the push follows */
            ngx_http_outage_redis_push_stop();
            ngx_http_outage_redis_push_start();
        }

        rd->prefer_at = 0;
        rd->prefer_every = 0;
        rd->preferring = 0;

    } else if (!rd->on_replica || rd->info_told) {
        /*
         * A primary (or a server that does not say): where the writes go
         * now, maybe after a failover; the first address may be the old
         * primary, back with its old data (review s12 R5 F1).  Only a
         * replica is left for the first address.
         */
        rd->prefer_at = 0;

    } else if (rd->prefer_at == 0) {
        rd->prefer_every = (rd->preferring && rd->prefer_every)
                           ? ngx_min(2 * rd->prefer_every,
                                     NGX_HTTP_OUTAGE_REDIS_PREFER_MAX)
                           : NGX_HTTP_OUTAGE_REDIS_PREFER_MIN;
        rd->prefer_at = ngx_current_msec + rd->prefer_every;
        rd->preferring = 0;
    }

    if (!was_up || rd->link_tell) {
        ngx_http_outage_redis_ok(rd);
    }
}


/*
 * A scope's change of state, said as a notice with its message.  A key
 * whose state keeps flipping (two scripts fighting over it, a toggling
 * job, a hostile writer) changes at every poll, and push polls up to every
 * 50 ms: one line per change was up to 20 lines a second per scope, each
 * with the whole message escaped (~41 GB of log a day with 16 scopes).
 * So a scope says at most FLAP_LINES changes per FLAP_WINDOW; the changes
 * past them are counted, and said in one line when the window is over,
 * with the state they ended in; a scope that keeps flapping says one such
 * line per window, and one calm window brings back a line per change.
 * The message is quoted in part: the status JSON has it whole.
 */

static void
ngx_http_outage_redis_said_change(ngx_http_outage_redis_t *rd, ngx_uint_t i,
    ngx_uint_t from, ngx_http_outage_incident_t *inc, uint64_t evicted,
    ngx_uint_t restarted)
{
    u_char      why[320], *w;

    u_char      quote[NGX_HTTP_OUTAGE_REDIS_FLAP_QUOTE];
    size_t      n;
    ngx_str_t  *names;

    names = rd->omcf->scopes.elts;

    /* a window over: what it kept quiet first */
    ngx_http_outage_redis_said_flaps(rd, i, from, NULL);

    if (!ngx_http_outage_redis_window_say(&rd->flap[i], &rd->flap[i].quiet)) {
        ngx_http_outage_redis_flap_timer(rd);
        return;
    }

    n = ngx_http_outage_log_preview(quote, sizeof(quote), inc->message,
                                    inc->message_len);

    w = why;

    if (evicted) {
        w = ngx_snprintf(why, sizeof(why), " (its key is gone and Redis "
                         "evicted %uL keys since the last poll: the incident "
                         "may have been evicted, not ended)", evicted);
    }

    if (restarted) {
        w = ngx_snprintf(w, why + sizeof(why) - w, " (its key is gone and "
                         "Redis restarted or failed over since the last "
                         "poll (replication id changed): the incident may "
                         "have been lost, not ended)");
    }

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "outage: scope \"%V\" %s -> %s by redis: \"%*s\"%*s%s",
                  &names[i], ngx_http_outage_state_name(from),
                  ngx_http_outage_state_name(inc->state), n, quote,
                  (size_t) (w - why), why,
                  rd->flap[i].said == NGX_HTTP_OUTAGE_REDIS_FLAP_LINES
                  ? "; further changes of this scope within 10 s are "
                    "counted, and said when the 10 s are over" : "");
}


/*
 * At the end of a scope's window (a change, or any poll after it): the
 * changes it did not say, summed up with the state they ended in (and its
 * message when known: inc), and a new window.
 */

static void
ngx_http_outage_redis_said_flaps(ngx_http_outage_redis_t *rd, ngx_uint_t i,
    ngx_uint_t state, ngx_http_outage_incident_t *inc)
{
    u_char      quote[NGX_HTTP_OUTAGE_REDIS_FLAP_QUOTE];
    size_t      n;
    ngx_str_t  *names;

    ngx_http_outage_redis_window_t  *w;

    w = &rd->flap[i];

    if (!ngx_http_outage_redis_window_end(w, 0)) {
        return;
    }

    names = rd->omcf->scopes.elts;
    n = inc ? ngx_http_outage_log_preview(quote, sizeof(quote), inc->message,
                                          inc->message_len)
            : 0;

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "outage: scope \"%V\" changed state %ui more time(s) by "
                  "redis, not each said (and %ui line(s) about its key: "
                  "warnings, unusable, readable again); %s %s%s%*s%s%s",
                  &names[i], w->quiet, w->hushed,
                  inc ? "now" : "then", ngx_http_outage_state_name(state),
                  inc ? ": \"" : "", n, quote, inc ? "\"" : "",
                  rd->bad[i] == 1 ? " (its key is unusable now: the last "
                                    "good state is kept)" : "");

    w->quiet = 0;
    w->hushed = 0;
}


/*
 * A holder that died or stopped may have counted changes it never said
 * (a flap window): the worker taking over says once the state each scope
 * is in by Redis, so that the log's last word on it is the state visitors
 * get.  Not on a reload: the old holder said its own before it exited.
 */

static void
ngx_http_outage_redis_inherited(ngx_http_outage_redis_t *rd, ngx_pid_t pid)
{
    u_char                   quote[NGX_HTTP_OUTAGE_REDIS_FLAP_QUOTE];
    size_t                   n;
    ngx_str_t               *names;
    ngx_uint_t               i;

    static ngx_http_outage_incident_t  inc;

    names = rd->omcf->scopes.elts;

    /* its link lines too: the next outcome is said, whatever the last was */
    rd->link_tell = 1;

    for (i = 0; i < rd->omcf->scopes.nelts; i++) {
        if (!ngx_http_outage_redis_scope_now(i, &inc)
            || inc.state == NGX_HTTP_OUTAGE_STATE_NONE)
        {
            continue;
        }

        n = ngx_http_outage_log_preview(quote, sizeof(quote), inc.message,
                                        inc.message_len);

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "outage: scope \"%V\" is %s by redis as worker %P "
                      "left it (it stopped renewing the polling lease): "
                      "\"%*s\"", &names[i],
                      ngx_http_outage_state_name(inc.state), pid, n, quote);
    }
}


/* a copy of a scope's Redis state in the zone; 0: the scope has no slot */

static ngx_uint_t
ngx_http_outage_redis_scope_now(ngx_uint_t i, ngx_http_outage_incident_t *inc)
{
    ngx_uint_t  slot;

    slot = ngx_http_outage_scope_slot(i);

    if (slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE) {
        return 0;
    }

    ngx_http_outage_shm_lock();
    *inc = ngx_http_outage_shm()->scopes[slot].redis;
    ngx_http_outage_shm_unlock();

    return 1;
}


/*
 * A line about a scope's key (a warning, unusable, readable again) comes
 * out of the same budget as its changes of state: a key flipping between
 * clean and warned, or usable and not, is a flap too.  Past the budget the
 * line is counted and the count said with the changes.
 */

static ngx_uint_t
ngx_http_outage_redis_may_say(ngx_http_outage_redis_t *rd, ngx_uint_t i)
{
    if (ngx_http_outage_redis_window_say(&rd->flap[i], &rd->flap[i].hushed)) {
        return 1;
    }

    ngx_http_outage_redis_flap_timer(rd);

    return 0;
}


/*
 * A line within the budget of its window (1: say it), or counted in
 * *count (0).  A window over with nothing counted starts afresh; one with
 * lines counted waits for its summary (window_end()).
 */

static ngx_uint_t
ngx_http_outage_redis_window_say(ngx_http_outage_redis_window_t *w,
    ngx_uint_t *count)
{
    if (ngx_current_msec - w->start >= NGX_HTTP_OUTAGE_REDIS_FLAP_WINDOW
        && w->quiet == 0 && w->hushed == 0)
    {
        w->start = ngx_current_msec;
        w->said = 0;
    }

    if (w->said >= NGX_HTTP_OUTAGE_REDIS_FLAP_LINES) {
        (*count)++;
        return 0;
    }

    w->said++;

    return 1;
}


/*
 * A window over (or ended now: force): 1 when it counted lines, which the
 * caller sums up and then zeroes; the next window starts quiet then, so
 * that something still flipping says one summary per window.
 */

static ngx_uint_t
ngx_http_outage_redis_window_end(ngx_http_outage_redis_window_t *w,
    ngx_uint_t force)
{
    if (!force
        && ngx_current_msec - w->start < NGX_HTTP_OUTAGE_REDIS_FLAP_WINDOW)
    {
        return 0;
    }

    w->start = ngx_current_msec;

    if (w->quiet == 0 && w->hushed == 0) {
        w->said = 0;
        return 0;
    }

    w->said = NGX_HTTP_OUTAGE_REDIS_FLAP_LINES;

    return 1;
}


/*
 * The changes counted and not said, with the state now in the zone: at the
 * end of their window (each tick: a scope held, or not polled, says them
 * too), and at once (force) when this worker stops reading them: its poll
 * fails, it loses the lease, it exits.  The log's last word on a scope is
 * then the state visitors get.
 */

static void
ngx_http_outage_redis_flaps_now(ngx_http_outage_redis_t *rd, ngx_uint_t force)
{
    ngx_uint_t                   i;

    /* a copy: the lock is not held while the line is written */
    static ngx_http_outage_incident_t  inc;

    for (i = 0; i < rd->omcf->scopes.nelts; i++) {

        if ((rd->flap[i].quiet == 0 && rd->flap[i].hushed == 0)
            || (!force && ngx_current_msec - rd->flap[i].start
                          < NGX_HTTP_OUTAGE_REDIS_FLAP_WINDOW))
        {
            continue;
        }

        if (!ngx_http_outage_redis_scope_now(i, &inc)) {
            continue;
        }

        rd->flap[i].start = ngx_current_msec
                            - NGX_HTTP_OUTAGE_REDIS_FLAP_WINDOW;

        ngx_http_outage_redis_said_flaps(rd, i, inc.state, &inc);
    }
}


/*
 * PTTL's answer: when the key expires, on the monotonic clock shared by the
 * workers; 0: no expiry (-1), no key (-2), or not an integer (a proxy).
 */

static uint64_t
ngx_http_outage_redis_expires(redisReply *r)
{
    if (r == NULL || r == &ngx_http_outage_redis_dropped
        || r->type != REDIS_REPLY_INTEGER || r->integer < 0)
    {
        return 0;
    }

    /* beyond ten years is no expiry that matters (nor an overflow) */
    if (r->integer > 10LL * 366 * 86400 * 1000) {
        return 0;
    }

    /*
     * the decision reads the time left as a signed difference of a 32-bit
     * clock there (review s11 R1 D1): a TTL beyond it would read as past.
     * The key then ends early here, only if Redis stays unread 24.8 days.
     */
    if (sizeof(ngx_msec_t) == 4 && r->integer > NGX_MAX_INT32_VALUE - 1) {
        return (uint64_t) ngx_current_msec + NGX_MAX_INT32_VALUE;
    }

    return (uint64_t) ngx_current_msec + (uint64_t) r->integer + 1;
}


/* Redis answers again: said once (the poll itself was recorded by store) */

static void
ngx_http_outage_redis_ok(ngx_http_outage_redis_t *rd)
{
    u_char                         buf[NGX_HTTP_OUTAGE_ERR_MAX + 320], *p;
    ngx_uint_t                     k;
    ngx_http_outage_redis_addr_t  *a;

    a = rd->omcf->redis_addrs->elts;
    k = rd->addr % rd->omcf->redis_addrs->nelts;

    /*
     * Redis answers again.  A push link left on another address (the poll
     * moved to a replica) would hear of changes from the wrong server; a
     * push link down (Redis restarted) would wait for its own backoff, up
     * to 30 s.  Either is reopened at once, where the poll is.
     */
    if (ngx_http_outage_redis_push_link.pc.connection == NULL
        || ngx_http_outage_redis_push_link.addr
           % rd->omcf->redis_addrs->nelts != k)
    {
        ngx_http_outage_redis_push_stop();
        ngx_http_outage_redis_push_start();
    }

    if (rd->names[k].text.len) {
        /* the name was resolved again since the configuration was read */
        p = ngx_snprintf(buf, sizeof(buf), "polling redis at %V (now %V), "
                         "state is current", &a[k].name, &rd->names[k].text);
    } else {
        p = ngx_snprintf(buf, sizeof(buf), "polling redis at %V, state is "
                         "current", &a[k].name);
    }

    ngx_http_outage_redis_link_said(rd, 1, NGX_LOG_NOTICE, buf, p - buf);
}


/*
 * The poll link's own lines: "keeping the last good state" when it fails,
 * "state is current" when it answers again.  A Redis restarting in a loop,
 * a proxy resetting connections, a reply time jittering around timeout=
 * flip the link at every poll: a pair of lines per flip.  They share the
 * scopes' discipline: FLAP_LINES per window, then the flips are counted
 * and one summary says how many, and the line the link is at now, so
 * that the log never ends on a state the link has left.  A timer ends
 * the window: no poll need come after the last flip.
 */

static void
ngx_http_outage_redis_link_said(ngx_http_outage_redis_t *rd, ngx_uint_t up,
    ngx_uint_t level, u_char *text, size_t len)
{
    /* a window over: what it counted first */
    ngx_http_outage_redis_link_flush(rd, 0);

    /*
     * A worker taking the lease over from a stalled one says its first
     * outcome whatever its own window holds: the last line about the link
     * may be the stalled one's.
     */
    if (rd->link_tell) {
        rd->link_tell = 0;
        ngx_log_error(level, rd->log, 0, "outage: %*s", len, text);
        return;
    }

    if (!ngx_http_outage_redis_window_say(&rd->link, up ? &rd->link.hushed
                                                       : &rd->link.quiet))
    {
        len = ngx_min(len, sizeof(rd->link_now));
        ngx_memcpy(rd->link_now, text, len);
        rd->link_now_len = len;
        rd->link_up = up;

        ngx_http_outage_redis_flap_timer(rd);
        return;
    }

    ngx_log_error(level, rd->log, 0, "outage: %*s%s", len, text,
                  rd->link.said == NGX_HTTP_OUTAGE_REDIS_FLAP_LINES
                  ? "; further failures and recoveries of the link within "
                    "10 s are counted, and said when the 10 s are over"
                  : "");
}


/*
 * The window's summary: its flips, and the line the link is at now, as the
 * zone has it.  A worker that lost the lease (it stalled, another took
 * over) no longer knows: the poller now says the link's state itself.
 */

static void
ngx_http_outage_redis_link_flush(ngx_http_outage_redis_t *rd,
    ngx_uint_t force)
{
    u_char                           err[NGX_HTTP_OUTAGE_ERR_MAX];
    size_t                           n;
    ngx_pid_t                        pid;
    ngx_uint_t                       up, holds, level;
    ngx_http_outage_shm_t           *shm;
    ngx_http_outage_redis_window_t  *w;

    w = &rd->link;

    if (!ngx_http_outage_redis_window_end(w, force)) {
        return;
    }

    shm = ngx_http_outage_shm();

    ngx_http_outage_shm_lock();

    holds = ngx_http_outage_lease_holds_since(&shm->redis_lease, rd->epoch);
    pid = shm->redis_lease.pid;
    up = shm->redis_up;
    n = shm->redis_last_error_len;
    ngx_memcpy(err, shm->redis_last_error, n);

    ngx_http_outage_shm_unlock();

    level = up ? NGX_LOG_NOTICE : NGX_LOG_ERR;

    if (!holds) {
        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "outage: redis link failed %ui and recovered %ui more "
                      "time(s) within 10 s while this worker polled, not "
                      "each said; %s", w->quiet, w->hushed,
                      pid ? "another worker polls Redis now and says its "
                            "state" : "nobody polls Redis now");

    } else if (up == rd->link_up) {
        /* its last line counted, with the address and the whole reason */
        ngx_log_error(level, rd->log, 0,
                      "outage: redis link failed %ui and recovered %ui more "
                      "time(s) within 10 s, not each said; now %s: %*s",
                      w->quiet, w->hushed, up ? "up" : "down",
                      rd->link_now_len, rd->link_now);

    } else {
        ngx_log_error(level, rd->log, 0,
                      "outage: redis link failed %ui and recovered %ui more "
                      "time(s) within 10 s, not each said; now %s%*s",
                      w->quiet, w->hushed, up ? "up" : "down: ",
                      up ? (size_t) 0 : n, err);
    }

    w->quiet = 0;
    w->hushed = 0;
}


/*
 * The end of the first window (a scope's, the link's) with lines counted:
 * its summary is said then, not at the next poll tick, which with push on
 * may be interval= away, or never come (the link is down).
 */

static void
ngx_http_outage_redis_flap_timer(ngx_http_outage_redis_t *rd)
{
    ngx_uint_t                       i, n, found;
    ngx_msec_int_t                   left, first;
    ngx_http_outage_redis_window_t  *w;

    n = rd->omcf->scopes.nelts;
    found = 0;
    first = 0;

    for (i = 0; i <= n; i++) {
        w = (i < n) ? &rd->flap[i] : &rd->link;

        if (w->quiet == 0 && w->hushed == 0) {
            continue;
        }

        left = (ngx_msec_int_t) (w->start + NGX_HTTP_OUTAGE_REDIS_FLAP_WINDOW
                                 - ngx_current_msec);

        if (!found || left < first) {
            first = left;
            found = 1;
        }
    }

    if (rd->flap_end.timer_set) {
        ngx_del_timer(&rd->flap_end);
    }

    if (found) {
        ngx_add_timer(&rd->flap_end, (ngx_msec_t) ngx_max(first, 1));
    }
}


static void
ngx_http_outage_redis_flap_end(ngx_event_t *ev)
{
    ngx_uint_t                force;
    ngx_connection_t         *dummy;
    ngx_http_outage_redis_t  *rd;

    dummy = ev->data;
    rd = dummy->data;

    if (rd->omcf == NULL) {
        return;
    }

    /* at exit too (a cancelled timer runs): what was counted is said */
    force = ngx_exiting || ngx_quit || ngx_terminate;

    ngx_http_outage_redis_flaps_now(rd, force);
    ngx_http_outage_redis_link_flush(rd, force);

    if (!force) {
        ngx_http_outage_redis_flap_timer(rd);
    }
}


static void
ngx_http_outage_redis_warn(ngx_http_outage_redis_t *rd, ngx_str_t *scope,
    unsigned warnings)
{
    u_char      buf[512], *p, *last;
    unsigned    bit;
    ngx_uint_t  level;

    p = buf;
    last = buf + sizeof(buf);

    for (bit = 1; bit <= NGX_HTTP_OUTAGE_PW_ALL; bit <<= 1) {
        if (warnings & bit) {
            p = ngx_slprintf(p, last, "%s%s", p == buf ? "" : "; ",
                             ngx_http_outage_payload_warning_text(bit));
        }
    }

    /*
     * A window that cannot be read, or a JSON string, means the incident
     * is not applied as declared: someone must hear about it.
     */
    level = (warnings & (NGX_HTTP_OUTAGE_PW_BAD_STARTS
                         | NGX_HTTP_OUTAGE_PW_BAD_ENDS
                         | NGX_HTTP_OUTAGE_PW_ENDS_IGNORED
                         | NGX_HTTP_OUTAGE_PW_BAD_WINDOW
                         | NGX_HTTP_OUTAGE_PW_JSON))
            ? NGX_LOG_ERR : NGX_LOG_WARN;

    ngx_log_error(level, rd->log, 0,
                  "outage: redis key \"%V%V\": %*s",
                  &rd->omcf->redis_prefix, scope, p - buf, buf);
}


/*
 * A failure as the log and the status say it: what, and the detail (a
 * server's error text, escaped and cut: it may be anything).
 */

static u_char *
ngx_http_outage_redis_said_what(u_char *p, u_char *last, const char *what,
    const char *detail, size_t len)
{
    p = ngx_slprintf(p, last, "%s", what);

    if (detail && len) {
        p = ngx_slprintf(p, last, ": ");
        p += ngx_http_outage_log_escape_cut(p, last - p,
                                            (const u_char *) detail,
                                            len > 120 ? 120 : len);
    }

    return p;
}


/* one log line per change of condition, not per poll */

static void
ngx_http_outage_redis_failed(ngx_http_outage_redis_t *rd, const char *what,
    const char *detail, size_t len)
{
    u_char                         buf[NGX_HTTP_OUTAGE_ERR_MAX], *p, *w, *last;
    u_char                         line[NGX_HTTP_OUTAGE_ERR_MAX + 320];
    size_t                         n;
    time_t                         now, age;
    uint32_t                       crc;
    ngx_uint_t                     same, i, k, slot, stale, incidents;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_main_conf_t   *omcf;

    if (rd->push) {
        ngx_http_outage_redis_push_failed(rd, what, detail, len);
        return;
    }

    /* the states counted and not said yet, before "the last good state" */
    ngx_http_outage_redis_flaps_now(rd, 1);

    shm = ngx_http_outage_shm();
    omcf = rd->omcf;
    now = ngx_time();
    a = rd->omcf->redis_addrs->elts;
    a = &a[rd->addr % rd->omcf->redis_addrs->nelts];

    /*
     * The zone's copy is shown by the status endpoint: the position of the
     * address, never the address itself (the log line names it).
     */
    last = buf + sizeof(buf);
    w = ngx_slprintf(buf, last, "#%ui",
                     rd->addr % rd->omcf->redis_addrs->nelts);
    p = ngx_slprintf(w, last, ": ");
    p = ngx_http_outage_redis_said_what(p, last, what, detail, len);
    n = p - buf;

    ngx_http_outage_shm_lock();

    /*
     * A worker that lost the lease while it waited (or is closing its
     * connection after losing it) does not speak for Redis any more.
     */
    if (!ngx_http_outage_lease_holds_since(&shm->redis_lease, rd->epoch)) {
        ngx_http_outage_shm_unlock();
        return;
    }

    same = !shm->redis_up && shm->redis_last_error_len == n
           && ngx_memcmp(shm->redis_last_error, buf, n) == 0;

    if (rd->said_crc) {
        k = rd->addr % omcf->redis_addrs->nelts;
        crc = ngx_crc32_short(buf, n);

        if (rd->said_polls != shm->redis_polls) {
            ngx_memzero(rd->said_crc,
                        omcf->redis_addrs->nelts * sizeof(uint32_t));
            rd->said_polls = shm->redis_polls;
        }

        if (!shm->redis_up && rd->said_crc[k] == crc) {
            same = 1;
        }

        rd->said_crc[k] = crc;
    }

    shm->redis_up = 0;
    shm->redis_errors++;
    shm->redis_last_error_time = now;
    ngx_memcpy(shm->redis_last_error, buf, n);
    shm->redis_last_error_len = n;

    /*
     * Requests stop trusting the Redis state once max_stale has passed
     * (the views judge it each second); the poller says so once.
     */
    age = (time_t) (ngx_http_outage_msec_since(shm->redis_last_ok_ms) / 1000);
    stale = omcf->redis_max_stale > 0 && shm->redis_ever_ok
            && (ngx_msec_int_t) (ngx_current_msec - shm->redis_last_ok_ms)
               > (ngx_msec_int_t) omcf->redis_max_stale * 1000
            && !shm->redis_stale_told;
    incidents = 0;

    if (stale) {
        shm->redis_stale_told = 1;

        for (i = 0; i < omcf->scopes.nelts; i++) {
            slot = ngx_http_outage_scope_slot(i);

            if (shm->scopes[slot].redis.state != NGX_HTTP_OUTAGE_STATE_NONE) {
                incidents++;
            }
        }
    }

    ngx_http_outage_shm_unlock();

    if (!same || rd->link_tell) {
        p = ngx_snprintf(line, sizeof(line), "redis %V%*s; keeping the "
                         "last good state%s", &a->name, n - (w - buf), w,
                         shm->redis_ever_ok ? "" : " (none yet: no incidents)");
        ngx_http_outage_redis_link_said(rd, 0, NGX_LOG_ERR, line, p - line);
    }

    if (stale) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: no successful Redis poll for %T s, more than "
                      "max_stale: the %ui states declared in Redis are "
                      "ignored (health checks decide) until it answers again",
                      age, incidents);
    }
}



/* ---- bounded replies: hiredis's reader with our object functions ------- */

/*
 * hiredis's own functions allocate what a reply announces (*100000000 is
 * an 800 MB element vector).  These refuse, before any allocation, arrays
 * longer than the poll can produce, nesting deeper than a hash inside EXEC,
 * values longer than NGX_HTTP_OUTAGE_REDIS_VALUE_MAX and replies needing
 * more than NGX_HTTP_OUTAGE_REDIS_REPLY_MAX bytes in all; the reader then
 * fails and the poller drops the connection.  Objects live in rd->pool,
 * which is reset after every reply: freeObject has nothing to do.
 */

static void
ngx_http_outage_redis_refuse(ngx_http_outage_redis_t *rd, const char *what,
    size_t n, size_t max)
{
    u_char  *p;

    if (rd->refused_len) {
        return;     /* the first reason is the one to report */
    }

    p = ngx_snprintf(rd->refused, 96, what, n, max);
    rd->refused_len = p - rd->refused;
}


/*
 * Appends to a refusal the key whose reply was being read, so that the
 * on-call can find it (the EXEC reply holds GET, HGETALL and PTTL of each
 * key).
 */

static u_char *
ngx_http_outage_redis_refused_key(ngx_http_outage_redis_t *rd, u_char *p)
{
    ngx_str_t   *names;
    ngx_uint_t   i;

    if (rd->push || !rd->in_exec) {
        return p;
    }

    i = rd->exec_cur;

    if (i >= rd->per_scope * rd->omcf->scopes.nelts) {
        return p;
    }

    names = rd->omcf->scopes.elts;

    return ngx_slprintf(p, rd->refused + sizeof(rd->refused),
                        " (key %V%V)", &rd->omcf->redis_prefix,
                        &names[i / rd->per_scope]);
}


/*
 * The EXEC element (GET's, HGETALL's or PTTL's reply) that a value
 * belongs to, taken from the reader's task before anything is refused, so
 * that a refusal names the key being read (not one next to it); -1 when
 * the value is not inside EXEC's reply.
 */

static ngx_uint_t
ngx_http_outage_redis_exec_index(const redisReadTask *task)
{
    if (task == NULL || task->parent == NULL) {
        return (ngx_uint_t) -1;
    }

    /* up to the element of EXEC itself, however deep (a hostile nesting) */
    while (task->parent->parent) {
        task = task->parent;
    }

    return (ngx_uint_t) task->idx;
}


/* the value the reader waits for the end of (refusals before its object) */

static void
ngx_http_outage_redis_pending(ngx_http_outage_redis_t *rd)
{
    redisReader  *r;

    r = rd->reader;

    if (!rd->in_exec || r == NULL || r->ridx < 0) {
        return;
    }

#if (HIREDIS_MAJOR >= 1)
    rd->exec_cur = ngx_http_outage_redis_exec_index(r->task[r->ridx]);
#else
    rd->exec_cur = ngx_http_outage_redis_exec_index(&r->rstack[r->ridx]);
#endif
}




static void *
ngx_http_outage_redis_new(const redisReadTask *task, int type, size_t size)
{
    size_t                    slot;
    ngx_uint_t                key;
    redisReply               *r, *parent;
    ngx_http_outage_redis_t  *rd;

    rd = task->privdata;

    if (rd == NULL) {
        return NULL;
    }

    parent = task->parent ? task->parent->obj : NULL;
    slot = (size_t) task->idx;
    key = 0;

    if (rd->in_exec && task->parent) {

        rd->exec_cur = ngx_http_outage_redis_exec_index(task);
        key = rd->exec_cur / rd->per_scope;

        if (task->parent->parent == NULL) {
            /* an element of EXEC: GET's, HGETALL's or PTTL's reply */
            rd->exec_next = (ngx_uint_t) task->idx + 1;
            rd->nested_left = 0;

        } else if (rd->nested_left) {
            rd->nested_left--;
        }

        if (key >= NGX_HTTP_OUTAGE_MAX_SCOPES) {
            return NULL;    /* not reached: EXEC has 2 elements per scope */
        }

        if (parent == &ngx_http_outage_redis_dropped || rd->over[key]) {
            /* the key is beyond what is kept of it: read, not kept */
            return &ngx_http_outage_redis_dropped;
        }

        if (parent != NULL && parent == rd->compact) {
            if (type != REDIS_REPLY_STRING) {
                /* not a hash: this scope's value is unusable, not the poll */
                rd->over[key] = (size_t) type;
                rd->over_why[key] = NGX_HTTP_OUTAGE_REDIS_OVER_TYPE;
                return &ngx_http_outage_redis_dropped;
            }

            /*
             * A known field and its value, while they fit; and the first
             * pair whatever it is, or a hash of notes alone would read as
             * empty, i.e. as no hash at all.
             */
            if (task->idx % 2 == 0) {
                rd->keep_value = (rd->name_known || task->idx == 0)
                                 && (size_t) task->idx + 1 < rd->compact_n
                                 && parent->elements + 2 <= rd->max_nested;
            }

            if (!rd->keep_value) {
                if (task->idx % 2 == 0 && !rd->name_known) {
                    /* said as the payload would have said it */
                    rd->cut[key] |= NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD;
                }

                return &ngx_http_outage_redis_dropped;
            }

            /* this slot is reserved below, once the memory is granted */
            slot = parent->elements;
        }

        size += sizeof(redisReply);

        if (size > NGX_HTTP_OUTAGE_REDIS_KEY_MAX - rd->kept[key]) {
            /* a key's size is its own scope's matter, never the poll's */
            rd->over[key] = rd->kept[key] + size;
            rd->over_why[key] = NGX_HTTP_OUTAGE_REDIS_OVER_KEY;
            return &ngx_http_outage_redis_dropped;
        }

        rd->kept[key] += size;

        if (parent != NULL && parent == rd->compact) {
            parent->elements++;
        }

    } else {
        /* any other reply, and EXEC's own array */
        size += sizeof(redisReply);

        if (size > NGX_HTTP_OUTAGE_REDIS_REPLY_MAX - rd->used) {
            ngx_http_outage_redis_refuse(rd, "a reply needing more than %uz "
                                         "bytes (at most %uz)",
                                         rd->used + size,
                                         NGX_HTTP_OUTAGE_REDIS_REPLY_MAX);
            return NULL;
        }

        rd->used += size;
    }

    r = ngx_pcalloc(rd->pool, sizeof(redisReply));
    if (r == NULL) {
        return NULL;
    }

    r->type = type;

    if (task->parent) {
        if (parent == NULL || task->idx < 0 || slot >= parent->elements) {
            return NULL;
        }

        parent->element[slot] = r;
    }

    return r;
}


static void *
ngx_http_outage_redis_create_string(const redisReadTask *task, char *str,
    size_t len)
{
    size_t                    max;
    ngx_uint_t                i, cut;
    redisReply               *r;
    ngx_http_outage_redis_t  *rd;

    rd = task->privdata;

    if (rd == NULL) {
        return NULL;
    }

    cut = 0;

    if (rd->in_exec && task->parent) {
        rd->exec_cur = ngx_http_outage_redis_exec_index(task);
        i = rd->exec_cur / rd->per_scope;

        if (rd->skip_len && i < NGX_HTTP_OUTAGE_MAX_SCOPES) {
            /*
             * Stands in for a string over BULK_MAX, walked and not kept.
             * A note's name or value is not read anyway (the first note's
             * value is kept empty, the hash must not read as empty); what
             * the payload reads, or GET's value, makes the scope keep its
             * last good state.
             */
            if (task->parent->parent && rd->compact
                && task->parent->obj == rd->compact && !rd->over[i])
            {
                if (task->idx % 2 == 0 && task->idx != 0) {
                    rd->keep_value = 0;
                    rd->cut[i] |= NGX_HTTP_OUTAGE_PW_UNKNOWN_FIELD;
                    return &ngx_http_outage_redis_dropped;
                }

                if (task->idx == 0) {
                    /* no known field: kept empty, the hash is not empty */
                    str = "";
                    len = 0;
                    goto keep;
                }

                if (task->idx % 2 == 1 && !rd->keep_value) {
                    return &ngx_http_outage_redis_dropped;
                }

                if (task->idx == 1 && !rd->name_known) {
                    /* an unknown field: said so by the payload's parser */
                    str = "";
                    len = 0;
                    goto keep;
                }
            }

            if (rd->over[i] == 0) {
                rd->over[i] = rd->skip_len;
                rd->over_why[i] = NGX_HTTP_OUTAGE_REDIS_OVER_VALUE;
            }

            return &ngx_http_outage_redis_dropped;
        }
    }

    max = (rd->in_exec && task->parent) ? NGX_HTTP_OUTAGE_REDIS_BULK_MAX
                                        : NGX_HTTP_OUTAGE_REDIS_VALUE_MAX;

    /* 0.14 can announce a length that wraps its own end-of-buffer test */
    if (len > max) {
        ngx_http_outage_redis_refuse(rd, "a value of %uz bytes "
                                     "(at most %uz)", len, max);
        return NULL;
    }

    if (len > NGX_HTTP_OUTAGE_REDIS_VALUE_MAX) {
        /* what is read of a value is far less: cut, said by a warning */
        cut = 1;
        len = NGX_HTTP_OUTAGE_REDIS_VALUE_MAX;
    }

keep:

    if (rd->in_exec && task->parent && task->parent->obj == rd->compact
        && rd->compact && task->idx % 2 == 0)
    {
        rd->name_known = ngx_http_outage_payload_field_known(
                                               (const unsigned char *) str,
                                               len);
    }

    r = ngx_http_outage_redis_new(task, task->type, len + 1);
    if (r == NULL) {
        return NULL;
    }

    if (r == &ngx_http_outage_redis_dropped) {
        return r;
    }

    if (cut) {
        /* only of a value kept: a field dropped whole was not "cut" */
        rd->cut[rd->exec_cur / rd->per_scope]
            |= NGX_HTTP_OUTAGE_PW_VALUE_CUT;
    }

    r->str = ngx_pnalloc(rd->pool, len + 1);
    if (r->str == NULL) {
        return NULL;
    }

    ngx_memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;

    return r;
}


#if (HIREDIS_MAJOR >= 1)

static void *
ngx_http_outage_redis_create_array(const redisReadTask *task, size_t elements)

#else

static void *
ngx_http_outage_redis_create_array(const redisReadTask *task, int elements)

#endif
{
    size_t                    n, max, keep;
    ngx_uint_t                depth;
    redisReply               *r;
    redisReadTask            *t;
    ngx_http_outage_redis_t  *rd;

    rd = task->privdata;

    if (rd == NULL) {
        return NULL;
    }

#if !(HIREDIS_MAJOR >= 1)
    /* 0.14 passes an int; 1.x a size_t, which cannot be negative */
    if (elements < 0) {
        return NULL;
    }
#endif

    n = (size_t) elements;

    depth = 0;
    for (t = task->parent; t; t = t->parent) {
        depth++;
    }

    if (rd->in_exec && task->parent) {
        rd->exec_cur = ngx_http_outage_redis_exec_index(task);
    }

    if (depth > NGX_HTTP_OUTAGE_REDIS_DEPTH_MAX) {
        ngx_http_outage_redis_refuse(rd, "arrays nested %uz deep "
                                     "(at most %uz)", depth,
                                     NGX_HTTP_OUTAGE_REDIS_DEPTH_MAX);
        return NULL;
    }

    /*
     * EXEC: 2 replies per scope, inside it a hash of 64 fields at most;
     * push: a message of 3, inside it the list of changed keys
     */
    max = depth ? rd->max_nested : rd->max_top;
    keep = n;

    if (n > max) {
        /*
         * A hash of EXEC too long to keep whole (notes in a key): only
         * its known fields are kept, in max_nested slots; the others are
         * read and dropped, so that the key's size is its own scope's
         * matter.  Beyond what a Redis hash holds, it is not one.
         */
        if (rd->push || depth != 1 || !rd->in_exec
            || n > NGX_HTTP_OUTAGE_REDIS_FIELDS_CAP)
        {
            ngx_http_outage_redis_refuse(rd, "an array of %uz elements "
                                         "(at most %uz)", n,
                                         (rd->push || depth != 1)
                                         ? max
                                         : NGX_HTTP_OUTAGE_REDIS_FIELDS_CAP);
            return NULL;
        }

        keep = max;
    }

    r = ngx_http_outage_redis_new(task, REDIS_REPLY_ARRAY,
                                  keep * sizeof(redisReply *));
    if (r == NULL || r == &ngx_http_outage_redis_dropped) {
        return r;
    }

    if (keep) {
        r->element = ngx_pcalloc(rd->pool, keep * sizeof(redisReply *));
        if (r->element == NULL) {
            return NULL;
        }
    }

    r->elements = keep;

    if (!rd->push && depth == 0) {
        /* EXEC's reply (no other command of the poll answers an array) */
        rd->in_exec = 1;
        rd->exec_next = 0;
        rd->nested_left = 0;
        rd->compact = NULL;
        ngx_memzero(rd->cut, sizeof(rd->cut));
        ngx_memzero(rd->kept, sizeof(rd->kept));
        ngx_memzero(rd->over, sizeof(rd->over));

    } else if (rd->in_exec && depth == 1) {
        /*
         * Every hash is kept in part: the fields the payload reads, and the
         * first pair (or a hash of notes alone would read as no hash); the
         * other values are read and dropped, so that notes of any size
         * cost nothing and only what is kept counts against KEY_MAX.
         */
        rd->nested_left = n;
        rd->compact = r;
        rd->compact_n = n;
        r->elements = 0;         /* filled by ngx_http_outage_redis_new() */

        if (keep < n) {
            rd->cut[task->idx / rd->per_scope]
                |= NGX_HTTP_OUTAGE_PW_FIELDS_CUT;
        }
    }

    return r;
}


static void *
ngx_http_outage_redis_create_integer(const redisReadTask *task,
    long long value)
{
    redisReply  *r;

    r = ngx_http_outage_redis_new(task, REDIS_REPLY_INTEGER, 0);
    if (r == NULL) {
        return NULL;
    }

    r->integer = value;

    return r;
}


static void *
ngx_http_outage_redis_create_nil(const redisReadTask *task)
{
    return ngx_http_outage_redis_new(task, REDIS_REPLY_NIL, 0);
}


#if (HIREDIS_MAJOR >= 1)

/* RESP3 only: the module never sends HELLO 3, so these are not Redis */

static void *
ngx_http_outage_redis_create_double(const redisReadTask *task, double value,
    char *str, size_t len)
{
    if (task->privdata) {
        ngx_http_outage_redis_refuse(task->privdata, "a RESP3 double",
                                     0, 0);
    }

    return NULL;
}


static void *
ngx_http_outage_redis_create_bool(const redisReadTask *task, int value)
{
    if (task->privdata) {
        ngx_http_outage_redis_refuse(task->privdata, "a RESP3 boolean",
                                     0, 0);
    }

    return NULL;
}

#endif


static void
ngx_http_outage_redis_free_object(void *obj)
{
    /* objects live in the poller's pool, reset after every reply */
}


/* ---- TLS through nginx's OpenSSL ---------------------------------------- */

#if (NGX_SSL)

static ngx_conf_bitmask_t  ngx_http_outage_redis_protocols[] = {
    { ngx_string("TLSv1"), NGX_SSL_TLSv1 },
    { ngx_string("TLSv1.1"), NGX_SSL_TLSv1_1 },
    { ngx_string("TLSv1.2"), NGX_SSL_TLSv1_2 },
    { ngx_string("TLSv1.3"), NGX_SSL_TLSv1_3 },
    { ngx_null_string, 0 }
};


/* one tls_* parameter; NGX_DECLINED: not one of ours */

static ngx_int_t
ngx_http_outage_redis_tls_param(ngx_conf_t *cf,
    ngx_http_outage_redis_tls_t **tlsp, ngx_str_t *v)
{
    u_char                       *p, *last, *q;
    ngx_str_t                     s, *dst;
    ngx_uint_t                    i, found;
    ngx_http_outage_redis_tls_t  *tls;

    p = ngx_strlchr(v->data, v->data + v->len, '=');
    if (p == NULL) {
        return NGX_DECLINED;
    }

    s.data = p + 1;
    s.len = v->data + v->len - s.data;

    tls = *tlsp;

    if (tls == NULL) {
        tls = ngx_pcalloc(cf->pool, sizeof(ngx_http_outage_redis_tls_t));
        if (tls == NULL) {
            return NGX_ERROR;
        }

        tls->verify = NGX_CONF_UNSET;
        tls->first.data = v->data;
        tls->first.len = p - v->data;
        *tlsp = tls;
    }

#define ngx_http_outage_is(name)                                              \
    ((size_t) (p - v->data) == sizeof(name) - 1                               \
     && ngx_strncmp(v->data, name, sizeof(name) - 1) == 0)

    dst = NULL;

    if (ngx_http_outage_is("tls_name")) {
        dst = &tls->name;

    } else if (ngx_http_outage_is("tls_trusted_certificate")) {
        dst = &tls->trusted;

    } else if (ngx_http_outage_is("tls_certificate")) {
        dst = &tls->certificate;

    } else if (ngx_http_outage_is("tls_certificate_key")) {
        dst = &tls->certificate_key;

    } else if (ngx_http_outage_is("tls_verify")) {

        if (s.len == 2 && ngx_strncmp(s.data, "on", 2) == 0) {
            tls->verify = 1;
            return NGX_OK;
        }

        if (s.len == 3 && ngx_strncmp(s.data, "off", 3) == 0) {
            tls->verify = 0;
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": invalid value in \"%V\", "
                           "expected \"on\" or \"off\"", v);
        return NGX_ERROR;

    } else if (ngx_http_outage_is("tls_protocols")) {

        last = s.data + s.len;

        for (p = s.data; p < last; p = q + 1) {
            q = ngx_strlchr(p, last, ',');
            if (q == NULL) {
                q = last;
            }

            found = 0;

            for (i = 0; ngx_http_outage_redis_protocols[i].name.len; i++) {
                if ((size_t) (q - p)
                        == ngx_http_outage_redis_protocols[i].name.len
                    && ngx_strncmp(p, ngx_http_outage_redis_protocols[i]
                                      .name.data, q - p) == 0)
                {
                    tls->protocols |= ngx_http_outage_redis_protocols[i].mask;
                    found = 1;
                }
            }

            if (!found) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_redis\": invalid protocol "
                                   "\"%*s\" in \"%V\", expected TLSv1, "
                                   "TLSv1.1, TLSv1.2 or TLSv1.3 separated by "
                                   "\",\"", q - p, p, v);
                return NGX_ERROR;
            }
        }

        return NGX_OK;

    } else {
        return NGX_DECLINED;
    }

#undef ngx_http_outage_is

    if (s.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": empty value in \"%V\"", v);
        return NGX_ERROR;
    }

    *dst = s;

    return NGX_OK;
}


/*
 * nginx's own certificate readers open a file blocking: a FIFO named there
 * would hang nginx -t and a reload.  The module's reader looks first, and
 * refuses what is no regular file; nginx's "data:" and "engine:" forms
 * name no file.  It only looks (open, fstat): nginx reads the file, and a
 * copy of the client key kept for the cycle's life would be in every
 * worker's memory.
 */

static ngx_int_t
ngx_http_outage_redis_tls_file(ngx_conf_t *cf, const char *what,
    ngx_str_t *path)
{
    ngx_str_t         name, text;
    static ngx_str_t  directive = ngx_string("outage_redis");

    if (path->len == 0
        || (path->len >= 5 && ngx_strncmp(path->data, "data:", 5) == 0)
        || (path->len >= 7 && ngx_strncmp(path->data, "engine:", 7) == 0))
    {
        return NGX_OK;
    }

    name = *path;

    if (ngx_http_outage_conf_file(cf, &directive,
                                  NGX_HTTP_OUTAGE_FILE_COLON
                                  | NGX_HTTP_OUTAGE_FILE_REGULAR
                                  | NGX_HTTP_OUTAGE_FILE_CHECK,
                                  what, &name, 4 * 1024 * 1024, &text)
        != NGX_CONF_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the client context, made once at configuration time like proxy_ssl */

static ngx_int_t
ngx_http_outage_redis_tls_init(ngx_conf_t *cf, ngx_http_outage_redis_tls_t *tls)
{
    ngx_pool_cleanup_t  *cln;

    if (tls->verify == NGX_CONF_UNSET) {
        tls->verify = 1;    /* unlike proxy_ssl_verify: a secret crosses */
    }

    if (tls->protocols == 0) {
        tls->protocols = NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3;
    }

    if (tls->certificate.len != tls->certificate_key.len
        && (tls->certificate.len == 0 || tls->certificate_key.len == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": \"tls_certificate=\" and "
                           "\"tls_certificate_key=\" go together");
        return NGX_ERROR;
    }

    if (ngx_http_outage_redis_tls_file(cf, "\"tls_certificate=\" file ",
                                       &tls->certificate) != NGX_OK
        || ngx_http_outage_redis_tls_file(cf,
                                          "\"tls_certificate_key=\" file ",
                                          &tls->certificate_key) != NGX_OK
        || (tls->verify
            && ngx_http_outage_redis_tls_file(cf,
                                   "\"tls_trusted_certificate=\" file ",
                                   &tls->trusted) != NGX_OK))
    {
        return NGX_ERROR;
    }

    tls->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (tls->ssl == NULL) {
        return NGX_ERROR;
    }

    tls->ssl->log = cf->log;

    if (ngx_ssl_create(tls->ssl, tls->protocols, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(tls->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = tls->ssl;

    if (tls->certificate.len
        && ngx_ssl_certificate(cf, tls->ssl, &tls->certificate,
                               &tls->certificate_key, NULL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (tls->verify) {
        if (ngx_ssl_trusted_certificate(cf, tls->ssl, &tls->trusted, 4)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (tls->trusted.len == 0
            && SSL_CTX_set_default_verify_paths(tls->ssl->ctx) != 1)
        {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0, "\"outage_redis\": "
                          "cannot load the system's trusted certificates, "
                          "give \"tls_trusted_certificate=\"");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The name the server's certificate must carry (and SNI, unless an IP):
 * tls_name=, or the host of the address as written.
 */

static void
ngx_http_outage_redis_tls_name(ngx_http_outage_redis_t *rd, ngx_str_t *name)
{
    u_char                        *p, *last;
    ngx_http_outage_redis_tls_t   *tls;
    ngx_http_outage_redis_addr_t  *a;

    tls = rd->omcf->redis_tls;

    if (tls->name.len) {
        *name = tls->name;
        return;
    }

    a = rd->omcf->redis_addrs->elts;
    a = &a[rd->addr % rd->omcf->redis_addrs->nelts];

    if (a->unix_path.len) {
        ngx_str_null(name);
        return;
    }

    p = a->name.data;
    last = p + a->name.len;

    if (p < last && *p == '[') {
        name->data = p + 1;
        p = ngx_strlchr(p, last, ']');
        name->len = p ? (size_t) (p - name->data) : 0;
        return;
    }

    name->data = p;
    p = ngx_strlchr(p, last, ':');
    name->len = (p ? p : last) - name->data;
}


static ngx_uint_t
ngx_http_outage_redis_is_ip(ngx_str_t *name)
{
    return ngx_strlchr(name->data, name->data + name->len, ':') != NULL
           || ngx_inet_addr(name->data, name->len) != INADDR_NONE;
}


static void
ngx_http_outage_redis_tls_start(ngx_http_outage_redis_t *rd)
{
    u_char                       *host;
    ngx_int_t                     rc;
    ngx_str_t                     name;
    ngx_connection_t             *c;
    ngx_http_outage_redis_tls_t  *tls;

    c = rd->pc.connection;
    tls = rd->omcf->redis_tls;

    if (ngx_ssl_create_connection(tls->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        ngx_http_outage_redis_drop(rd, "cannot start TLS", NULL, 0);
        return;
    }

    ngx_http_outage_redis_tls_name(rd, &name);

    if (name.len && !ngx_http_outage_redis_is_ip(&name)) {
        host = ngx_pnalloc(c->pool, name.len + 1);
        if (host == NULL) {
            ngx_http_outage_redis_drop(rd, "cannot start TLS", NULL, 0);
            return;
        }

        (void) ngx_cpystrn(host, name.data, name.len + 1);

        if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) host)
            != 1)
        {
            ngx_http_outage_redis_drop(rd, "cannot set the TLS server name",
                                       NULL, 0);
            return;
        }
    }

    rd->said_len = 0;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_outage_redis_tls_done;
        return;
    }

    ngx_http_outage_redis_tls_done(c);
}


static void
ngx_http_outage_redis_tls_done(ngx_connection_t *c)
{
    long                          rc;
    X509                         *cert;
    u_char                        buf[NGX_HTTP_OUTAGE_ERR_MAX], *p;
    ngx_int_t                     ok;
    ngx_str_t                     name;
    ngx_http_outage_redis_t      *rd;
    ngx_http_outage_redis_tls_t  *tls;

    rd = c->data;
    tls = rd->omcf->redis_tls;

    if (!c->ssl->handshaked) {
        /* nginx's own line (SSL_do_handshake() failed ...) says why */
        ngx_http_outage_redis_drop(rd, "TLS handshake failed",
                                   (const char *) rd->said, rd->said_len);
        return;
    }

    if (tls->verify) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            p = ngx_snprintf(buf, sizeof(buf), "(%l: %s)", rc,
                             X509_verify_cert_error_string(rc));
            ngx_http_outage_redis_drop(rd, "TLS certificate verify error",
                                       (const char *) buf, p - buf);
            return;
        }

        ngx_http_outage_redis_tls_name(rd, &name);

        if (name.len && ngx_http_outage_redis_is_ip(&name)) {
            ok = 0;
            cert = SSL_get_peer_certificate(c->ssl->connection);

            if (cert) {
                p = ngx_pnalloc(c->pool, name.len + 1);
                if (p) {
                    (void) ngx_cpystrn(p, name.data, name.len + 1);
                    ok = X509_check_ip_asc(cert, (char *) p, 0) == 1;
                }

                X509_free(cert);
            }

        } else {
            ok = name.len && ngx_ssl_check_host(c, &name) == NGX_OK;
        }

        if (!ok) {
            p = ngx_snprintf(buf, sizeof(buf), "\"%V\"", &name);
            ngx_http_outage_redis_drop(rd, "TLS certificate does not match",
                                       (const char *) buf, p - buf);
            return;
        }
    }

    c->read->handler = ngx_http_outage_redis_read_handler;
    c->write->handler = ngx_http_outage_redis_write_handler;

    ngx_http_outage_redis_ready(rd);

    ngx_http_outage_redis_write_handler(c->write);
}



/*
 * A TLS failure after the handshake, e.g. the server's alert "certificate
 * required": OpenSSL's reason, without nginx's "SSL_read() failed" or
 * "SSL_write() failed", which depends on what noticed it first.
 */

static void
ngx_http_outage_redis_tls_error(ngx_http_outage_redis_t *rd)
{
    u_char  *p, *last;

    p = rd->said;
    last = rd->said + rd->said_len;

    p = ngx_strlcasestrn(p, last, (u_char *) "(SSL:", 5 - 1);

    if (p) {
        rd->tls_said_len = last - p;
        ngx_memcpy(rd->tls_said, p, rd->tls_said_len);

    } else if (rd->tls_said_len == 0) {
        /* a reset without OpenSSL's reason: the plain wording */
        ngx_http_outage_redis_lost(rd);
        return;
    }

    /*
     * The server's alert (say, "certificate required") is read on one
     * attempt, a reset found by the write on the next: both are the same
     * condition, so the alert stays the reason until a poll succeeds.
     */

    ngx_http_outage_redis_drop(rd, "TLS error", (const char *) rd->tls_said,
                               rd->tls_said_len);
}

#endif


/*
 * The writer of the connection's quiet log: nginx's own lines for this
 * connection (connect() failed, SSL_do_handshake() failed...) are kept, not
 * written, so that the poller's one line per condition can quote the last
 * one.  Alerts still reach the error log.
 */

static void
ngx_http_outage_redis_log_writer(ngx_log_t *log, ngx_uint_t level, u_char *buf,
    size_t len)
{
    u_char                   *p, *last;
    ngx_http_outage_redis_t  *rd;

    rd = log->wdata;
    last = buf + len;

    while (last > buf && (last[-1] == LF || last[-1] == CR)) {
        last--;
    }

    /* "2026/01/01 00:00:00 [crit] 1#1: *5 text": keep "text" */

    p = ngx_strlchr(buf, last, ']');
    p = p ? ngx_strlchr(p, last, ':') : NULL;
    p = p ? p + 2 : buf;

    if (p < last && *p == '*') {
        p = ngx_strlchr(p, last, ' ');
        p = p ? p + 1 : last;
    }

    if (p > last) {
        p = last;
    }

    rd->said_len = ngx_min((size_t) (last - p), sizeof(rd->said));
    ngx_memcpy(rd->said, p, rd->said_len);

    if (level <= NGX_LOG_ALERT) {
        ngx_log_error(level, rd->log, 0, "%*s", last - p, p);
    }
}
