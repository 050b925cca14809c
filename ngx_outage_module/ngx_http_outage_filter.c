
/*
 * ngx_outage_module: the banner filter.
 * Placeholder until the filter lands: responses pass through unchanged.
 */


#include "ngx_http_outage_module.h"


ngx_int_t
ngx_http_outage_filter_init(ngx_conf_t *cf)
{
    return NGX_OK;
}


ngx_int_t
ngx_http_outage_banner_css_handler(ngx_http_request_t *r)
{
    return NGX_HTTP_NOT_FOUND;
}
