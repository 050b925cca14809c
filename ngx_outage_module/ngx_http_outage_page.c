
/*
 * ngx_outage_module: the maintenance page.
 * Placeholder until the page lands: requests pass through unchanged.
 */


#include "ngx_http_outage_module.h"


ngx_int_t
ngx_http_outage_access_handler(ngx_http_request_t *r)
{
    return NGX_DECLINED;
}


ngx_int_t
ngx_http_outage_bypass_login_handler(ngx_http_request_t *r)
{
    return NGX_HTTP_NOT_FOUND;
}
