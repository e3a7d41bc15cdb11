// One variant of the loader's fixture plugin. host/loader/CMakeLists.txt builds this file several
// times; each build's compile definitions pick its name and which rule of the ABI (if any) it breaks.
// The operations themselves are shared (fixture_ops.cpp).
//
//   FIXTURE_NAME="x"              manifest name (default "fixture_good")
//   FIXTURE_MANIFEST_ABI="1.0"    manifest "abi"
//   FIXTURE_MANIFEST=valid|schema_fail|invalid_json|none
//   FIXTURE_STREAM_EXTRA=", ..."  more members of the manifest's stream object (valid manifests only)
//   FIXTURE_TOP_EXTRA=", ..."     more top-level manifest members (valid manifests only)
//   FIXTURE_TABLE_ABI=<uint32>    the table's abi_version (default MLC_ABI_VERSION)
//   FIXTURE_TABLE_TOO_SMALL       the table's size stops before webhook (a pre-release table)
//   FIXTURE_ENTRY=normal|null|none  none: exported under a wrong name
//   FIXTURE_NULL_CHECK            leaves check NULL
//   FIXTURE_NEWER_MINOR           a table from a minor newer than the host's: one more function pointer
//                                 appended, minor MLC_ABI_VERSION_MINOR + 1
//   FIXTURE_UNRESOLVED            needs a symbol nothing defines, so loading it (RTLD_NOW) fails
#include <cstddef>
#include <cstdint>

#include "fixture_ops.hpp"
#include "mlc/plugin.h"

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "fixture_good"
#endif
#ifndef FIXTURE_MANIFEST_ABI
#define FIXTURE_MANIFEST_ABI "1.0"
#endif
#ifndef FIXTURE_MANIFEST
#define FIXTURE_MANIFEST valid
#endif
#ifndef FIXTURE_ENTRY
#define FIXTURE_ENTRY normal
#endif
#ifndef FIXTURE_STREAM_EXTRA
#define FIXTURE_STREAM_EXTRA ""
#endif
#ifndef FIXTURE_TOP_EXTRA
#define FIXTURE_TOP_EXTRA ""
#endif

// Lets the preprocessor compare the word-valued options above.
#define FIXTURE_KIND_valid 1
#define FIXTURE_KIND_schema_fail 2
#define FIXTURE_KIND_invalid_json 3
#define FIXTURE_KIND_none 4
#define FIXTURE_KIND_normal 5
#define FIXTURE_KIND_null 6
#define FIXTURE_KIND_CAT(a) FIXTURE_KIND_##a
#define FIXTURE_KIND(a) FIXTURE_KIND_CAT(a)

const char* FixtureName() { return FIXTURE_NAME; }

// ---- Manifest -----------------------------------------------------------------------------------

#if FIXTURE_KIND(FIXTURE_MANIFEST) == FIXTURE_KIND_valid
MLC_PLUGIN_MANIFEST("{\"name\": \"" FIXTURE_NAME
                    "\", \"version\": \"1.2.3\", \"abi\": \"" FIXTURE_MANIFEST_ABI
                    "\", \"vendor\": \"Fixture Systems\","
                    " \"description\": \"Loader test fixture\","
                    " \"roles\": [\"source\", \"target\"],"
                    " \"auth\": {\"kind\": \"none\"},"
                    " \"base_url\": \"http://127.0.0.1\","
                    " \"streams\": [{\"name\": \"expenses\", \"object\": \"expense\", \"cursor\": "
                    "\"opaque\"" FIXTURE_STREAM_EXTRA
                    "}],"
                    " \"writes\": [{\"object\": \"vendor\", \"idempotency\": \"none\"}],"
                    " \"settings_schema\": {\"type\": \"object\"}" FIXTURE_TOP_EXTRA "}");
#elif FIXTURE_KIND(FIXTURE_MANIFEST) == FIXTURE_KIND_schema_fail
// Well-formed JSON that no manifest schema accepts: the name is a number and most members are missing.
MLC_PLUGIN_MANIFEST("{\"name\": 42, \"abi\": \"" FIXTURE_MANIFEST_ABI "\"}");
#elif FIXTURE_KIND(FIXTURE_MANIFEST) == FIXTURE_KIND_invalid_json
MLC_PLUGIN_MANIFEST("{\"name\": \"" FIXTURE_NAME "\", \"abi\": ");
#endif

// ---- Table --------------------------------------------------------------------------------------

namespace {

#ifdef FIXTURE_NEWER_MINOR
// The fields this host knows, then one appended function pointer it does not know about.
struct FixtureTable {
  mlc_plugin_api base;
  mlc_op_fn future_op;
};
const FixtureTable kTable = {
    {sizeof(FixtureTable), (MLC_ABI_VERSION_MAJOR << 16) | (MLC_ABI_VERSION_MINOR + 1u), &fixture::Open,
     &fixture::Close, &fixture::Check, &fixture::Read, &fixture::Write, &fixture::Lookup, &fixture::Ack,
     &fixture::Webhook, &fixture::AuthResolve},
    &fixture::FutureOp,
};
[[maybe_unused]] const mlc_plugin_api* TablePtr() { return &kTable.base; }
#else
#ifndef FIXTURE_TABLE_ABI
#define FIXTURE_TABLE_ABI MLC_ABI_VERSION
#endif
#ifdef FIXTURE_TABLE_TOO_SMALL
#define FIXTURE_TABLE_SIZE offsetof(mlc_plugin_api, webhook)
#else
#define FIXTURE_TABLE_SIZE sizeof(mlc_plugin_api)
#endif
#ifdef FIXTURE_NULL_CHECK
#define FIXTURE_CHECK_FN nullptr
#else
#define FIXTURE_CHECK_FN &fixture::Check
#endif
const mlc_plugin_api kTable = {
    static_cast<uint32_t>(FIXTURE_TABLE_SIZE),
    static_cast<uint32_t>(FIXTURE_TABLE_ABI),
    &fixture::Open,
    &fixture::Close,
    FIXTURE_CHECK_FN,
    &fixture::Read,
    &fixture::Write,
    &fixture::Lookup,
    &fixture::Ack,
    &fixture::Webhook,
    nullptr,  // auth_resolve: this plugin needs none
};
[[maybe_unused]] const mlc_plugin_api* TablePtr() { return &kTable; }
#endif

}  // namespace

// ---- Entry point --------------------------------------------------------------------------------

#ifdef FIXTURE_UNRESOLVED
extern "C" int mlc_fixture_symbol_nobody_defines(void);
#endif

#if FIXTURE_KIND(FIXTURE_ENTRY) == FIXTURE_KIND_normal
extern "C" MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
#ifdef FIXTURE_UNRESOLVED
  if (mlc_fixture_symbol_nobody_defines() != 0) return nullptr;
#endif
  (void)host_abi_version;
  return TablePtr();
}
#elif FIXTURE_KIND(FIXTURE_ENTRY) == FIXTURE_KIND_null
extern "C" MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry(uint32_t host_abi_version) {
  (void)host_abi_version;
  return nullptr;
}
#else
// Exported under a wrong name, so the library loads but has no entry symbol.
extern "C" MLC_EXPORT const mlc_plugin_api* mlc_plugin_entry_v0(uint32_t host_abi_version) {
  (void)host_abi_version;
  return TablePtr();
}
#endif
