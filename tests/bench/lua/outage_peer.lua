-- The do-it-yourself outage banner that ngx_outage_module is benchmarked
-- against: OpenResty's lua-nginx-module plus resty.redis (Debian ships it as
-- "nginx.redis" in lua-nginx-redis).  Two variants:
--   per-request: access_by_lua GETs the key over a pooled cosocket;
--   cached:      ngx.timer.every refreshes a lua_shared_dict from Redis and
--                the header filter reads the dict.
-- Both insert the banner right after the first "<body ...>" tag in
-- body_filter_by_lua, carrying a tag split across buffers to the next one.
-- Written to be a fair, reasonably careful peer, not a strawman.

local redis = require "nginx.redis"

local find = string.find
local sub = string.sub
local gsub = string.gsub
local null = ngx.null

local _M = {}

local conf = {
    host = "127.0.0.1",
    port = 6379,
    key = "outage:site",
    interval = 1,
    prefix = "<div class=\"outage-banner\">",
    suffix = "</div>",
}

local escapes = {
    ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;", ["'"] = "&#39;",
}

local function escape_html(s)
    return (gsub(s, "[&<>\"']", escapes))
end


function _M.configure(t)
    for k, v in pairs(t) do
        conf[k] = v
    end
end


-- One GET over a pooled connection.  Returns the message, false when the
-- key is absent, or nil and an error.
local function fetch()
    local red = redis:new()
    red:set_timeout(200)
    local ok, err = red:connect(conf.host, conf.port)
    if not ok then
        return nil, err
    end
    local v
    v, err = red:get(conf.key)
    if not v then
        red:close()
        return nil, err
    end
    red:set_keepalive(60000, 64)
    if v == null then
        return false
    end
    return v
end


-- variant (a): a Redis round trip on every request
function _M.access_get()
    local v, err = fetch()
    if v then
        ngx.ctx.outage = v
    elseif v == nil then
        ngx.log(ngx.WARN, "outage peer: redis GET failed: ", err)
    end
end


-- variant (b): one refresh per interval per worker, requests read the dict
function _M.init_worker_cached()
    local dict = ngx.shared.outage

    local function refresh(premature)
        if premature then
            return
        end
        local v, err = fetch()
        if v == nil then
            -- keep the last good state while Redis cannot be read
            ngx.log(ngx.WARN, "outage peer: redis GET failed: ", err)
        elseif v then
            dict:set("site", v)
        else
            dict:delete("site")
        end
    end

    ngx.timer.at(0, refresh)
    local ok, err = ngx.timer.every(conf.interval, refresh)
    if not ok then
        ngx.log(ngx.ERR, "outage peer: timer: ", err)
    end
end


local function start_banner(msg)
    local ct = ngx.header.content_type
    if ngx.status ~= 200 or not ct or not find(ct, "text/html", 1, true) then
        return
    end
    ngx.header.content_length = nil
    ngx.header.accept_ranges = nil
    ngx.ctx.banner = conf.prefix .. escape_html(msg) .. conf.suffix
end


function _M.header_filter_get()
    local msg = ngx.ctx.outage
    if msg then
        start_banner(msg)
    end
end


function _M.header_filter_cached()
    local msg = ngx.shared.outage:get("site")
    if msg then
        start_banner(msg)
    end
end


function _M.body_filter()
    local ctx = ngx.ctx
    local banner = ctx.banner
    if not banner then
        return
    end

    local chunk = ngx.arg[1]
    local eof = ngx.arg[2]
    if ctx.carry then
        chunk = ctx.carry .. chunk
        ctx.carry = nil
    end

    local s, e = find(chunk, "<[bB][oO][dD][yY][%s/>]")
    if s then
        local gt = e
        if sub(chunk, e, e) ~= ">" then
            gt = find(chunk, ">", e + 1, true)
        end
        if gt then
            ngx.arg[1] = sub(chunk, 1, gt) .. banner .. sub(chunk, gt + 1)
            ctx.banner = nil
            return
        end
        -- the tag continues in the next buffer
        if not eof then
            ngx.arg[1] = sub(chunk, 1, s - 1)
            ctx.carry = sub(chunk, s)
            return
        end

    elseif not eof then
        -- a "<bo" cut at the end of this buffer: hold it back
        local lt = find(chunk, "<[^>]*$", #chunk > 16 and #chunk - 15 or 1)
        if lt then
            ngx.arg[1] = sub(chunk, 1, lt - 1)
            ctx.carry = sub(chunk, lt)
            return
        end
    end

    if eof then
        -- no <body>: append, like the module does
        ngx.arg[1] = chunk .. banner
        ctx.banner = nil
        return
    end
    ngx.arg[1] = chunk
end


return _M
