/* A minimal plugin for `mlc config check` tests: a manifest (source of expenses, target of bills) and a
 * table whose operations do nothing. Built as a module into the test build folder, never installed. */
#include "mlc/plugin.h"

MLC_PLUGIN_MANIFEST(
    "{\"name\": \"cfgtest\", \"version\": \"1.0.0\", \"abi\": \"1.0\", \"vendor\": \"Config Test\","
    " \"roles\": [\"source\", \"target\"],"
    " \"auth\": {\"kind\": \"static_bearer\", \"secret_fields\": [\"token\"]},"
    " \"base_url\": \"https://api.example.test/v1\","
    " \"streams\": [{\"name\": \"expenses\", \"object\": \"expense\", \"cursor\": \"opaque\"}],"
    " \"writes\": [{\"object\": \"expense\", \"idempotency\": \"native\"},"
    "              {\"object\": \"bill\", \"idempotency\": \"none\"}],"
    " \"secrets\": [{\"name\": \"token\", \"required\": true}],"
    " \"settings_schema\": {\"type\": \"object\", \"additionalProperties\": false,"
    "   \"properties\": {\"environment\": {\"enum\": [\"production\", \"sandbox\"]}}}}");

static int kInstance;

static mlc_status Open(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings, mlc_instance** out,
                       const mlc_sink* err) {
  (void)host;
  (void)ctx;
  (void)settings;
  (void)err;
  *out = (mlc_instance*)&kInstance;
  return MLC_OK;
}

static void Close(mlc_instance* instance) { (void)instance; }

static mlc_status Check(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err) {
  (void)instance;
  (void)request;
  (void)err;
  out->write(out->ctx, "{\"ok\": true}", 12);
  return MLC_OK;
}

static const mlc_plugin_api kApi = {
    sizeof(mlc_plugin_api), MLC_ABI_VERSION, Open, Close, Check, 0, 0, 0, 0, 0, 0};

MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
  return MLC_ABI_MAJOR(host_abi_version) == MLC_ABI_VERSION_MAJOR ? &kApi : 0;
}
