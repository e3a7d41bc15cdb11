/* A plugin as a third party built it against the released ABI 1.1 header, kept frozen beside this file
 * (testdata/frozen/abi-1.1/mlc/plugin.h, never edited): plain C99, no SDK helpers. The loader and
 * instance tests load it into the current host, so a change to plugin.h that moves, retypes or removes
 * anything of 1.1 breaks them instead of breaking plugins in the field.
 *
 *   check  {"ok": true, "account": {"plugin": "fixture_frozen_1_1", "host_abi": <host's abi_version>}}
 *   read   {"records": [], "next_cursor": null, "has_more": false, "secret_put": <status>,
 *           "read_back": <bool>}: stores the secret "webhook_verifier" through the 1.1 service
 *          secret_put (guarded by MLC_TABLE_HAS, as docs/abi.md tells authors) and reads it back
 *   other operations answer MLC_INVALID with a message */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlc/plugin.h"

#if MLC_ABI_VERSION_MAJOR != 1u || MLC_ABI_VERSION_MINOR != 1u
#error "this fixture must be compiled against the frozen 1.1 header"
#endif

MLC_PLUGIN_MANIFEST(
    "{\"name\": \"fixture_frozen_1_1\", \"version\": \"1.1.0\", \"abi\": \"1.1\", \"vendor\": \"Frozen Co\","
    " \"roles\": [\"source\"], \"auth\": {\"kind\": \"none\"}, \"base_url\": \"http://127.0.0.1\","
    " \"streams\": [{\"name\": \"vendors\", \"object\": \"vendor\", \"cursor\": \"opaque\"}],"
    " \"secrets\": [{\"name\": \"webhook_verifier\", \"description\": \"learned at run time\"}],"
    " \"settings_schema\": {\"type\": \"object\"}}");

struct mlc_instance {
  const mlc_host_api* host;
  mlc_host_ctx* ctx;
};

static void put(const mlc_sink* sink, const char* text) {
  if (sink != NULL && sink->write != NULL) sink->write(sink->ctx, text, strlen(text));
}

/* Collects a secret read back into a fixed buffer (the fixture's secret is short). */
struct buffer {
  char bytes[128];
  size_t len;
};
static void buffer_write(void* ctx, const char* data, size_t len) {
  struct buffer* b = (struct buffer*)ctx;
  if (b->len + len < sizeof(b->bytes)) {
    memcpy(b->bytes + b->len, data, len);
    b->len += len;
  }
}

static mlc_status frozen_open(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings,
                              mlc_instance** out, const mlc_sink* err) {
  (void)settings;
  mlc_instance* self = (mlc_instance*)malloc(sizeof(mlc_instance));
  if (self == NULL) {
    put(err, "out of memory");
    return MLC_ERROR;
  }
  self->host = host;
  self->ctx = ctx;
  *out = self;
  return MLC_OK;
}

static void frozen_close(mlc_instance* self) { free(self); }

static mlc_status frozen_check(mlc_instance* self, mlc_str request, const mlc_sink* out,
                               const mlc_sink* err) {
  char reply[160];
  (void)request;
  (void)err;
  snprintf(reply, sizeof reply,
           "{\"ok\": true, \"account\": {\"plugin\": \"fixture_frozen_1_1\", \"host_abi\": %u}}",
           (unsigned)self->host->abi_version);
  put(out, reply);
  return MLC_OK;
}

static mlc_status frozen_read(mlc_instance* self, mlc_str request, const mlc_sink* out, const mlc_sink* err) {
  static const char kName[] = "webhook_verifier";
  static const char kValue[] = "frozen-learned-value";
  mlc_str name = {kName, sizeof kName - 1};
  mlc_str value = {kValue, sizeof kValue - 1};
  mlc_status put_status = MLC_NOT_FOUND;
  int read_back = 0;
  char reply[200];
  (void)request;
  if (MLC_TABLE_HAS(self->host, mlc_host_api, secret_put) && self->host->secret_put != NULL) {
    struct buffer got = {{0}, 0};
    mlc_sink got_sink = {&got, buffer_write};
    put_status = self->host->secret_put(self->ctx, name, value, err);
    if (put_status == MLC_OK && self->host->secret_get(self->ctx, name, &got_sink, err) == MLC_OK) {
      read_back = got.len == value.len && memcmp(got.bytes, kValue, got.len) == 0;
    }
  }
  snprintf(
      reply, sizeof reply,
      "{\"records\": [], \"next_cursor\": null, \"has_more\": false, \"secret_put\": %d, \"read_back\": %s}",
      (int)put_status, read_back ? "true" : "false");
  put(out, reply);
  return MLC_OK;
}

static mlc_status frozen_unsupported(mlc_instance* self, mlc_str request, const mlc_sink* out,
                                     const mlc_sink* err) {
  (void)self;
  (void)request;
  (void)out;
  put(err, "fixture_frozen_1_1 only reads");
  return MLC_INVALID;
}

static mlc_status frozen_webhook(mlc_instance* self, mlc_str request, mlc_str body, const mlc_sink* out,
                                 const mlc_sink* err) {
  (void)body;
  return frozen_unsupported(self, request, out, err);
}

static const mlc_plugin_api kTable = {
    sizeof(mlc_plugin_api), MLC_ABI_VERSION,    frozen_open,        frozen_close,   frozen_check, frozen_read,
    frozen_unsupported,     frozen_unsupported, frozen_unsupported, frozen_webhook, NULL,
};

MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
  return MLC_ABI_MAJOR(host_abi_version) == MLC_ABI_VERSION_MAJOR ? &kTable : NULL;
}
