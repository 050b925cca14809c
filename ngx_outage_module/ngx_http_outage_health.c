
/*
 * ngx_outage_module: dependency health checks (libcurl multi_socket).
 * Placeholder until the prober lands: checks are parsed but not run.
 */


#include "ngx_http_outage_module.h"


char *
ngx_http_outage_check_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return "is not implemented yet";
}


ngx_int_t
ngx_http_outage_health_init_process(ngx_cycle_t *cycle)
{
    return NGX_OK;
}


void
ngx_http_outage_health_exit_process(ngx_cycle_t *cycle)
{
}


void
ngx_http_outage_health_passive_failure(ngx_http_request_t *r,
    ngx_array_t *scopes, ngx_uint_t status)
{
}
