// A minimal plugin compiled by clang++ (not the host's g++) to prove the C ABI is compiler-neutral.
// Built by a custom command in host/loader/CMakeLists.txt; depends on nothing but plugin.h.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "mlc/plugin.h"

#ifndef __clang__
#error "this fixture exists to be compiled by clang++"
#endif

#define FIXTURE_STR_INNER(x) #x
#define FIXTURE_STR(x) FIXTURE_STR_INNER(x)

MLC_PLUGIN_MANIFEST(
    "{\"name\": \"fixture_clang\", \"version\": \"0.0.1\", \"abi\": \"1.0\", \"vendor\": \"Fixture Systems\","
    " \"description\": \"Loader test fixture built with clang\","
    " \"roles\": [\"source\"],"
    " \"auth\": {\"kind\": \"none\"},"
    " \"base_url\": \"http://127.0.0.1\","
    " \"streams\": [{\"name\": \"expenses\", \"object\": \"expense\", \"cursor\": \"opaque\"}],"
    " \"settings_schema\": {\"type\": \"object\"}}");

namespace {

struct Instance {
  const mlc_host_api* host;
  mlc_host_ctx* ctx;
};

void Put(const mlc_sink* sink, const char* text) {
  if (sink != nullptr && sink->write != nullptr) sink->write(sink->ctx, text, std::strlen(text));
}

mlc_status Open(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str, mlc_instance** out,
                const mlc_sink* err) {
  if (host == nullptr || host->size < sizeof(mlc_host_api)) {
    Put(err, "host services table too small");
    return MLC_INVALID;
  }
  Instance* self = new (std::nothrow) Instance{host, ctx};
  if (self == nullptr) {
    Put(err, "out of memory");
    return MLC_RETRY;
  }
  *out = reinterpret_cast<mlc_instance*>(self);
  return MLC_OK;
}

void Close(mlc_instance* instance) { delete reinterpret_cast<Instance*>(instance); }

mlc_status Check(mlc_instance*, mlc_str, const mlc_sink* out, const mlc_sink*) {
  Put(out, "{\"ok\": true, \"account\": {\"compiler\": \"clang\", \"clang_major\": " FIXTURE_STR(
               __clang_major__) "}}");
  return MLC_OK;
}

const mlc_plugin_api kTable = {
    sizeof(mlc_plugin_api),
    MLC_ABI_VERSION,
    &Open,
    &Close,
    &Check,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

extern "C" MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
  return MLC_ABI_MAJOR(host_abi_version) == MLC_ABI_VERSION_MAJOR ? &kTable : nullptr;
}
