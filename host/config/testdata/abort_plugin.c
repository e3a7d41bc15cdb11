/* A plugin that aborts the process the moment its code runs (a load-time constructor). It sits next to
 * test_plugin.c's output so `mlc config check` tests prove manifests are read without loading libraries. */
#include <stdlib.h>

#include "mlc/plugin.h"

MLC_PLUGIN_MANIFEST(
    "{\"name\": \"cfgabort\", \"version\": \"1.0.0\", \"abi\": \"1.0\", \"vendor\": \"Config Test\","
    " \"roles\": [\"target\"], \"auth\": {\"kind\": \"none\"}, \"base_url\": \"https://api.example.test\","
    " \"writes\": [{\"object\": \"vendor\", \"idempotency\": \"none\"}],"
    " \"settings_schema\": {\"type\": \"object\"}}");

__attribute__((constructor)) static void AbortOnLoad(void) { abort(); }

MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
  (void)host_abi_version;
  abort();
}
