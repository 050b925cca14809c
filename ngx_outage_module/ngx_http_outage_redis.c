
/*
 * ngx_outage_module: incident state from Redis.
 *
 * Owns the "outage_redis" directive, a small hiredis async adapter on
 * nginx's event loop (hiredis owns and closes the socket; nginx only lends
 * a connection structure for the events), and the poller: the worker that
 * holds the Redis lease sends one pipelined MULTI / GET+HGETALL per scope /
 * EXEC every interval and writes the validated result into the zone.
 * Failures keep the last good state and are logged once per condition.
 */


#include "ngx_http_outage_module.h"

#include <hiredis/hiredis.h>
#include <hiredis/async.h>


typedef struct {
    ngx_http_outage_main_conf_t  *omcf;
    redisAsyncContext            *ac;
    ngx_connection_t             *conn;       /* events of ac's socket */
    ngx_uint_t                    addr;       /* current address index */
    ngx_uint_t                    in_flight;
    ngx_uint_t                    connected;
    ngx_uint_t                    owner;
    ngx_event_t                   tick;
    ngx_event_t                   deadline;   /* reply timeout */
    ngx_connection_t              dummy;      /* timers' ev->data */
    ngx_log_t                    *log;

    int                           argc;       /* the poll pipeline */
    const char                  **argv;
    size_t                       *argvlen;

    unsigned                      bad[NGX_HTTP_OUTAGE_MAX_SCOPES];
} ngx_http_outage_redis_t;


static void ngx_http_outage_redis_tick(ngx_event_t *ev);
static void ngx_http_outage_redis_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_outage_redis_connect(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_close(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_poll(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_failed(ngx_http_outage_redis_t *rd,
    const char *what, const char *detail, size_t len);
static void ngx_http_outage_redis_ok(ngx_http_outage_redis_t *rd);
static void ngx_http_outage_redis_warn(ngx_http_outage_redis_t *rd,
    ngx_str_t *scope, unsigned warnings);
static void ngx_http_outage_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_outage_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_outage_redis_on_setup(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_outage_redis_on_exec(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_outage_redis_store(ngx_http_outage_redis_t *rd,
    redisReply *reply);

static ngx_int_t ngx_http_outage_redis_attach(ngx_http_outage_redis_t *rd,
    redisAsyncContext *ac);
static void ngx_http_outage_redis_add_read(void *data);
static void ngx_http_outage_redis_del_read(void *data);
static void ngx_http_outage_redis_add_write(void *data);
static void ngx_http_outage_redis_del_write(void *data);
static void ngx_http_outage_redis_cleanup(void *data);
static void ngx_http_outage_redis_read_handler(ngx_event_t *ev);
static void ngx_http_outage_redis_write_handler(ngx_event_t *ev);


static ngx_http_outage_redis_t  ngx_http_outage_redis;


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
    ngx_uint_t                     i;
    ngx_msec_t                     ms;
    ngx_http_outage_redis_addr_t  *a;

    if (omcf->redis_addrs) {
        return "is duplicate";
    }

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

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            if (ngx_http_outage_conf_msec(cf, &value[i], 9, &ms)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            if (ms < 100) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"outage_redis\": interval must be at "
                                   "least 100ms in \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            omcf->redis_interval = ms;
            continue;
        }

        if (ngx_strncmp(value[i].data, "connect_timeout=", 16) == 0) {
            if (ngx_http_outage_conf_msec(cf, &value[i], 16,
                                          &omcf->redis_connect_timeout)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            if (ngx_http_outage_conf_msec(cf, &value[i], 8,
                                          &omcf->redis_timeout)
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
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

        if (ngx_strlchr(value[i].data, value[i].data + value[i].len, '=')
            && ngx_strncmp(value[i].data, "unix:", 5) != 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": unknown parameter \"%V\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        /* an address: resolved now, at configuration time, never later */

        ngx_memzero(&u, sizeof(ngx_url_t));
        u.url = value[i];
        u.default_port = 6379;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": invalid address \"%V\": %s",
                               &value[i], u.err ? u.err : "no address found");
            return NGX_CONF_ERROR;
        }

        if (u.uri.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"outage_redis\": invalid address \"%V\": "
                               "expected host:port, [ipv6]:port or "
                               "unix:/path", &value[i]);
            return NGX_CONF_ERROR;
        }

        a = ngx_array_push(omcf->redis_addrs);
        if (a == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(a, sizeof(ngx_http_outage_redis_addr_t));
        a->name = value[i];
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

    if (omcf->redis_user.len && omcf->redis_password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"outage_redis\": \"user=\" needs \"password=\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* ---- process start and stop -------------------------------------------- */

ngx_int_t
ngx_http_outage_redis_init_process(ngx_cycle_t *cycle)
{
    u_char                       *p;
    ngx_str_t                    *names;
    ngx_uint_t                    i, k;
    ngx_http_outage_redis_t      *rd;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_outage_module);

    if (omcf->redis_addrs == NULL) {
        return NGX_OK;
    }

    rd = &ngx_http_outage_redis;
    ngx_memzero(rd, sizeof(ngx_http_outage_redis_t));

    rd->omcf = omcf;
    rd->log = cycle->log;

    /* MULTI, GET+HGETALL per scope, EXEC: argv built once per process */

    rd->argc = 2 + 2 * omcf->scopes.nelts;
    rd->argv = ngx_palloc(cycle->pool, rd->argc * 2 * sizeof(char *));
    rd->argvlen = ngx_palloc(cycle->pool, rd->argc * 2 * sizeof(size_t));
    if (rd->argv == NULL || rd->argvlen == NULL) {
        return NGX_ERROR;
    }

    names = omcf->scopes.elts;

    for (i = 0; i < omcf->scopes.nelts; i++) {
        p = ngx_pnalloc(cycle->pool, omcf->redis_prefix.len + names[i].len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, omcf->redis_prefix.data, omcf->redis_prefix.len);
        ngx_memcpy(p + omcf->redis_prefix.len, names[i].data, names[i].len);

        /* pairs: command, key */
        k = 4 * i;
        rd->argv[k] = "GET";
        rd->argvlen[k] = 3;
        rd->argv[k + 1] = (const char *) p;
        rd->argvlen[k + 1] = omcf->redis_prefix.len + names[i].len;
        rd->argv[k + 2] = "HGETALL";
        rd->argvlen[k + 2] = 7;
        rd->argv[k + 3] = (const char *) p;
        rd->argvlen[k + 3] = rd->argvlen[k + 1];
    }

    rd->dummy.fd = (ngx_socket_t) -1;

    rd->tick.handler = ngx_http_outage_redis_tick;
    rd->tick.data = &rd->dummy;
    rd->tick.log = cycle->log;
    rd->tick.cancelable = 1;

    rd->deadline.handler = ngx_http_outage_redis_timeout;
    rd->deadline.data = &rd->dummy;
    rd->deadline.log = cycle->log;
    rd->deadline.cancelable = 1;

    /* a small per-worker offset so that workers do not race for the lease */
    ngx_add_timer(&rd->tick, (ngx_msec_t) (ngx_random() % 50));

    return NGX_OK;
}


void
ngx_http_outage_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis;

    if (rd->omcf == NULL) {
        return;
    }

    if (rd->tick.timer_set) {
        ngx_del_timer(&rd->tick);
    }

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
    }

    ngx_http_outage_redis_close(rd);

    /* at once: the next poller need not wait for the lease to expire */
    ngx_http_outage_lease_release(&ngx_http_outage_shm()->redis_lease);
    rd->owner = 0;

    rd->omcf = NULL;
}


/* ---- the poller -------------------------------------------------------- */

static void
ngx_http_outage_redis_tick(ngx_event_t *ev)
{
    ngx_msec_t                    ttl;
    ngx_http_outage_redis_t      *rd;
    ngx_http_outage_main_conf_t  *omcf;

    rd = &ngx_http_outage_redis;
    omcf = rd->omcf;

    if (ngx_exiting || ngx_quit || ngx_terminate || omcf == NULL) {
        ngx_http_outage_redis_close(rd);
        ngx_http_outage_lease_release(&ngx_http_outage_shm()->redis_lease);
        rd->owner = 0;
        return;
    }

    ngx_add_timer(&rd->tick, omcf->redis_interval);

    /* the lease outlives a slow poll, but not a dead or stopped owner */
    ttl = 2 * omcf->redis_interval + omcf->redis_connect_timeout
          + omcf->redis_timeout;

    if (!ngx_http_outage_lease_take(&ngx_http_outage_shm()->redis_lease, ttl,
                                    ev->log, "polls Redis"))
    {
        if (rd->owner) {
            ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                          "outage: another worker now polls Redis");
            rd->owner = 0;
        }

        ngx_http_outage_redis_close(rd);
        return;
    }

    rd->owner = 1;

    if (rd->in_flight) {
        return;     /* the deadline timer ends a stuck poll */
    }

    if (rd->ac == NULL && ngx_http_outage_redis_connect(rd) != NGX_OK) {
        return;
    }

    ngx_http_outage_redis_poll(rd);
}


static ngx_int_t
ngx_http_outage_redis_connect(ngx_http_outage_redis_t *rd)
{
    const char                    *args[3];
    size_t                         lens[3];
    redisAsyncContext             *ac;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_main_conf_t   *omcf;

    omcf = rd->omcf;
    a = omcf->redis_addrs->elts;
    a = &a[rd->addr % omcf->redis_addrs->nelts];

    /* literal addresses only: hiredis does no name lookup here */
    if (a->unix_path.len) {
        ac = redisAsyncConnectUnix((const char *) a->unix_path.data);

    } else {
        ac = redisAsyncConnect((const char *) a->host.data, a->port);
    }

    if (ac == NULL) {
        ngx_http_outage_redis_failed(rd, "cannot allocate a context", NULL, 0);
        return NGX_ERROR;
    }

    if (ac->err) {
        ngx_http_outage_redis_failed(rd, "connect failed", ac->errstr,
                                     ngx_strlen(ac->errstr));
        redisAsyncFree(ac);
        rd->addr++;
        return NGX_ERROR;
    }

    if (ngx_http_outage_redis_attach(rd, ac) != NGX_OK) {
        ngx_http_outage_redis_failed(rd, "no free nginx connection "
                                     "(worker_connections)", NULL, 0);
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    rd->ac = ac;
    rd->connected = 0;
    ac->data = rd;

    redisAsyncSetConnectCallback(ac, ngx_http_outage_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_outage_redis_on_disconnect);

    ngx_http_outage_shm()->redis_connects++;

    /* hiredis queues these until the connection is up */

    if (omcf->redis_password.len) {
        args[0] = "AUTH";
        lens[0] = 4;

        if (omcf->redis_user.len) {
            args[1] = (const char *) omcf->redis_user.data;
            lens[1] = omcf->redis_user.len;
            args[2] = (const char *) omcf->redis_password.data;
            lens[2] = omcf->redis_password.len;

            redisAsyncCommandArgv(ac, ngx_http_outage_redis_on_setup,
                                  (void *) "AUTH", 3, args, lens);

        } else {
            args[1] = (const char *) omcf->redis_password.data;
            lens[1] = omcf->redis_password.len;

            redisAsyncCommandArgv(ac, ngx_http_outage_redis_on_setup,
                                  (void *) "AUTH", 2, args, lens);
        }
    }

    if (omcf->redis_db) {
        redisAsyncCommand(ac, ngx_http_outage_redis_on_setup,
                          (void *) "SELECT", "SELECT %d",
                          (int) omcf->redis_db);
    }

    return NGX_OK;
}


static void
ngx_http_outage_redis_poll(ngx_http_outage_redis_t *rd)
{
    int                           rc;
    ngx_uint_t                    i;
    ngx_http_outage_main_conf_t  *omcf;

    omcf = rd->omcf;

    rc = redisAsyncCommand(rd->ac, NULL, NULL, "MULTI");

    for (i = 0; rc == REDIS_OK && i < omcf->scopes.nelts; i++) {
        rc = redisAsyncCommandArgv(rd->ac, NULL, NULL, 2, &rd->argv[4 * i],
                                   &rd->argvlen[4 * i]);
        if (rc == REDIS_OK) {
            rc = redisAsyncCommandArgv(rd->ac, NULL, NULL, 2,
                                       &rd->argv[4 * i + 2],
                                       &rd->argvlen[4 * i + 2]);
        }
    }

    if (rc == REDIS_OK) {
        rc = redisAsyncCommand(rd->ac, ngx_http_outage_redis_on_exec, rd,
                               "EXEC");
    }

    if (rc != REDIS_OK) {
        ngx_http_outage_redis_failed(rd, "cannot queue the poll",
                                     rd->ac->errstr,
                                     rd->ac->errstr
                                     ? ngx_strlen(rd->ac->errstr) : 0);
        ngx_http_outage_redis_close(rd);
        return;
    }

    rd->in_flight = 1;

    /* hiredis 0.14 has no timeouts: ours covers connect and reply */
    ngx_add_timer(&rd->deadline, omcf->redis_timeout
                                 + (rd->connected
                                    ? 0 : omcf->redis_connect_timeout));
}


static void
ngx_http_outage_redis_timeout(ngx_event_t *ev)
{
    ngx_http_outage_redis_t  *rd;

    rd = &ngx_http_outage_redis;

    ngx_http_outage_redis_failed(rd, rd->connected
                                     ? "no reply within timeout"
                                     : "connect timed out", NULL, 0);

    /* forced: redisAsyncDisconnect would wait for the stalled reply */
    ngx_http_outage_redis_close(rd);
    rd->addr++;
}


/* closes whatever is open; safe to call at any time outside callbacks */

static void
ngx_http_outage_redis_close(ngx_http_outage_redis_t *rd)
{
    redisAsyncContext  *ac;

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
    }

    ac = rd->ac;
    rd->ac = NULL;
    rd->in_flight = 0;
    rd->connected = 0;

    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}


/* ---- hiredis callbacks -------------------------------------------------- */

static void
ngx_http_outage_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_http_outage_redis_t  *rd = ac->data;

    if (rd == NULL) {
        return;
    }

    if (status != REDIS_OK) {
        ngx_http_outage_redis_failed(rd, "connect failed", ac->errstr,
                                     ac->errstr ? ngx_strlen(ac->errstr) : 0);

        /* hiredis frees the context after this returns */
        rd->ac = NULL;
        rd->in_flight = 0;
        rd->connected = 0;
        rd->addr++;

        if (rd->deadline.timer_set) {
            ngx_del_timer(&rd->deadline);
        }

        return;
    }

    rd->connected = 1;
}


static void
ngx_http_outage_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    ngx_http_outage_redis_t  *rd = ac->data;

    if (rd == NULL) {
        return;     /* our own close */
    }

    if (status != REDIS_OK) {
        ngx_http_outage_redis_failed(rd, "connection lost", ac->errstr,
                                     ac->errstr ? ngx_strlen(ac->errstr) : 0);
        rd->addr++;
    }

    /* the context is freed after this returns; reconnect from the tick */
    rd->ac = NULL;
    rd->in_flight = 0;
    rd->connected = 0;

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
    }
}


static void
ngx_http_outage_redis_on_setup(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply               *reply = r;
    ngx_http_outage_redis_t  *rd = ac->data;

    if (rd == NULL || reply == NULL) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_outage_redis_failed(rd, privdata, reply->str,
                                     (size_t) reply->len);

        /*
         * Drop the connection now, so that the EXEC queued behind does not
         * report a second, different error for the same condition; hiredis
         * defers the free until this callback returns.
         */
        ac->data = NULL;
        rd->ac = NULL;
        rd->in_flight = 0;
        rd->connected = 0;

        if (rd->deadline.timer_set) {
            ngx_del_timer(&rd->deadline);
        }

        redisAsyncFree(ac);
    }
}


static void
ngx_http_outage_redis_on_exec(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply               *reply = r;
    ngx_http_outage_redis_t  *rd = privdata;

    if (ac->data == NULL) {
        return;     /* being freed by us */
    }

    rd->in_flight = 0;

    if (rd->deadline.timer_set) {
        ngx_del_timer(&rd->deadline);
    }

    if (reply == NULL) {
        return;     /* the disconnect callback reports why */
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_outage_redis_failed(rd, "poll failed", reply->str,
                                     (size_t) reply->len);
        /* e.g. NOAUTH or a read-only replica's refusal: drop, retry later */
        ac->data = NULL;
        redisAsyncFree(ac);
        rd->ac = NULL;
        rd->connected = 0;
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2 * rd->omcf->scopes.nelts)
    {
        ngx_http_outage_redis_failed(rd, "unexpected reply to EXEC (not an "
                                     "array of GET/HGETALL results)", NULL, 0);
        ac->data = NULL;
        redisAsyncFree(ac);
        rd->ac = NULL;
        rd->connected = 0;
        return;
    }

    ngx_http_outage_redis_store(rd, reply);
}


/* ---- writing the result into the zone ----------------------------------- */

static void
ngx_http_outage_redis_store(ngx_http_outage_redis_t *rd, redisReply *reply)
{
    u_char                        logbuf[NGX_HTTP_OUTAGE_MESSAGE_MAX * 4];
    u_char                        ok[NGX_HTTP_OUTAGE_MAX_SCOPES];
    size_t                        n;
    time_t                        now;
    ngx_str_t                    *names;
    ngx_uint_t                    i, slot, changed, was_up, held;
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

    for (i = 0; i < omcf->scopes.nelts; i++) {

        ok[i] = 0;

        if (ngx_http_outage_payload_parse(reply->element[2 * i],
                                          reply->element[2 * i + 1],
                                          &inc[i], &err)
            != 0)
        {
            if (!rd->bad[i]) {
                ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                              "outage: redis key \"%V%V\" has an unusable "
                              "value (%s), keeping the last good state of "
                              "scope \"%V\"", &omcf->redis_prefix, &names[i],
                              err, &names[i]);
                rd->bad[i] = 1;
            }

            continue;
        }

        if (rd->bad[i] || inc[i].warnings) {
            /* warnings are logged when they change, not at every poll */
            if (inc[i].warnings
                && rd->bad[i] != (inc[i].warnings | 0x80000000u))
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

    held = ngx_http_outage_lease_holds(&shm->redis_lease);

    if (!held) {
        shm->redis_dropped++;
        ngx_http_outage_shm_unlock();

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "outage: dropped a late Redis poll result: this "
                      "worker lost the polling lease while it waited (it "
                      "stalled, or a reload retired it)");
        return;
    }

    for (i = 0; i < omcf->scopes.nelts; i++) {
        from[i] = NGX_HTTP_OUTAGE_STATE_NONE;
        slot = ngx_http_outage_scope_slot(i);

        if (!ok[i] || slot == NGX_HTTP_OUTAGE_NO_SLOT_SCOPE) {
            ok[i] = 0;
            continue;
        }

        ss = &shm->scopes[slot];

        if (ngx_memcmp(&ss->redis, &inc[i], sizeof(inc[i])) == 0) {
            ok[i] = 0;
            continue;
        }

        from[i] = ss->redis.state;

        if (ss->redis.state != inc[i].state) {
            ss->redis_since = now;
            ss->transitions++;
        }

        ss->redis = inc[i];
        changed = 1;
    }

    was_up = shm->redis_up;
    shm->redis_up = 1;
    shm->redis_stale_told = 0;
    shm->redis_ever_ok = 1;
    shm->redis_last_ok = now;
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
        if (!ok[i] || (ngx_uint_t) inc[i].state == from[i]) {
            continue;
        }

        n = ngx_http_outage_log_escape(logbuf, sizeof(logbuf),
                                       inc[i].message, inc[i].message_len);
        if (n > sizeof(logbuf)) {
            n = sizeof(logbuf);
        }

        ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                      "outage: scope \"%V\" %s -> %s by redis: \"%*s\"",
                      &names[i], ngx_http_outage_state_name(from[i]),
                      ngx_http_outage_state_name(inc[i].state), n, logbuf);
    }

    if (!was_up) {
        ngx_http_outage_redis_ok(rd);
    }
}


/* Redis answers again: said once (the poll itself was recorded by store) */

static void
ngx_http_outage_redis_ok(ngx_http_outage_redis_t *rd)
{
    ngx_http_outage_redis_addr_t  *a;

    a = rd->omcf->redis_addrs->elts;
    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "outage: polling redis at %V, state is current",
                  &a[rd->addr % rd->omcf->redis_addrs->nelts].name);
}


static void
ngx_http_outage_redis_warn(ngx_http_outage_redis_t *rd, ngx_str_t *scope,
    unsigned warnings)
{
    u_char    buf[512], *p, *last;
    unsigned  bit;

    p = buf;
    last = buf + sizeof(buf);

    for (bit = 1; bit <= NGX_HTTP_OUTAGE_PW_ALL; bit <<= 1) {
        if (warnings & bit) {
            p = ngx_slprintf(p, last, "%s%s", p == buf ? "" : "; ",
                             ngx_http_outage_payload_warning_text(bit));
        }
    }

    ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                  "outage: redis key \"%V%V\": %*s",
                  &rd->omcf->redis_prefix, scope, p - buf, buf);
}


/* one log line per change of condition, not per poll */

static void
ngx_http_outage_redis_failed(ngx_http_outage_redis_t *rd, const char *what,
    const char *detail, size_t len)
{
    u_char                         buf[NGX_HTTP_OUTAGE_ERR_MAX], *p, *w, *last;
    size_t                         n;
    time_t                         now, age;
    ngx_uint_t                     same, i, slot, stale, incidents;
    ngx_http_outage_shm_t         *shm;
    ngx_http_outage_redis_addr_t  *a;
    ngx_http_outage_main_conf_t   *omcf;

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
    p = ngx_slprintf(w, last, ": %s", what);

    if (detail && len) {
        p = ngx_slprintf(p, last, ": ");
        n = ngx_http_outage_log_escape(p, last - p, (const u_char *) detail,
                                       len > 120 ? 120 : len);
        p += ngx_min(n, (size_t) (last - p));
    }

    n = p - buf;

    ngx_http_outage_shm_lock();

    /*
     * A worker that lost the lease while it waited (or is closing its
     * connection after losing it) does not speak for Redis any more.
     */
    if (!ngx_http_outage_lease_holds(&shm->redis_lease)) {
        ngx_http_outage_shm_unlock();
        return;
    }

    same = !shm->redis_up && shm->redis_last_error_len == n
           && ngx_memcmp(shm->redis_last_error, buf, n) == 0;

    shm->redis_up = 0;
    shm->redis_errors++;
    shm->redis_last_error_time = now;
    ngx_memcpy(shm->redis_last_error, buf, n);
    shm->redis_last_error_len = n;

    /*
     * Requests stop trusting the Redis state once max_stale has passed
     * (the views judge it each second); the poller says so once.
     */
    age = now - shm->redis_last_ok;
    stale = omcf->redis_max_stale > 0 && shm->redis_ever_ok
            && age > omcf->redis_max_stale && !shm->redis_stale_told;
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

    if (!same) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "outage: redis %V%*s; keeping the last good state%s",
                      &a->name, n - (w - buf), w,
                      shm->redis_ever_ok ? "" : " (none yet: no incidents)");
    }

    if (stale) {
        ngx_log_error(NGX_LOG_WARN, rd->log, 0,
                      "outage: no successful Redis poll for %T s, more than "
                      "max_stale: the %ui states declared in Redis are "
                      "ignored (health checks decide) until it answers again",
                      age, incidents);
    }
}


/* ---- the adapter: hiredis's five hooks on nginx events ------------------ */

static ngx_int_t
ngx_http_outage_redis_attach(ngx_http_outage_redis_t *rd,
    redisAsyncContext *ac)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = ac;
    c->log = rd->log;
    c->read->log = rd->log;
    c->write->log = rd->log;
    c->read->handler = ngx_http_outage_redis_read_handler;
    c->write->handler = ngx_http_outage_redis_write_handler;

    rd->conn = c;

    ac->ev.data = c;
    ac->ev.addRead = ngx_http_outage_redis_add_read;
    ac->ev.delRead = ngx_http_outage_redis_del_read;
    ac->ev.addWrite = ngx_http_outage_redis_add_write;
    ac->ev.delWrite = ngx_http_outage_redis_del_write;
    ac->ev.cleanup = ngx_http_outage_redis_cleanup;

    return NGX_OK;
}


/*
 * Level-triggered (no NGX_CLEAR_EVENT): hiredis reads at most 16 KiB per
 * call, so an edge-triggered event could leave a large reply unread.
 */

static void
ngx_http_outage_redis_add_read(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "outage: cannot add redis read event");
        }
    }
}


static void
ngx_http_outage_redis_del_read(void *data)
{
    ngx_connection_t  *c = data;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_outage_redis_add_write(void *data)
{
    ngx_connection_t  *c = data;

    if (!c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                          "outage: cannot add redis write event");
        }
    }
}


static void
ngx_http_outage_redis_del_write(void *data)
{
    ngx_connection_t  *c = data;

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }
}


/*
 * hiredis closes the socket itself right after this: only forget it here.
 * Closing it too would close whatever reuses the descriptor number.
 */

static void
ngx_http_outage_redis_cleanup(void *data)
{
    ngx_connection_t  *c = data;

    ngx_http_outage_redis_del_read(c);
    ngx_http_outage_redis_del_write(c);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (ngx_http_outage_redis.conn == c) {
        ngx_http_outage_redis.conn = NULL;
    }

    ngx_free_connection(c);
    c->fd = (ngx_socket_t) -1;
}


static void
ngx_http_outage_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleRead(c->data);
}


static void
ngx_http_outage_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    redisAsyncHandleWrite(c->data);
}
