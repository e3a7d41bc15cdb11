/* ml-connector plugin ABI, version 1.
 *
 * The only contract between the host (`mlc`) and a connector plugin. Plain C99: no C++ types, no
 * exceptions, no allocator crossing the boundary. A plugin built by any compiler against this header
 * loads into every host of the same major version.
 *
 * Overview
 *   - A plugin is a shared library exporting one symbol, `mlc_plugin_entry` (MLC_PLUGIN_ENTRY_SYMBOL),
 *     which returns a pointer to a static `mlc_plugin_api` table.
 *   - The host hands the plugin a `mlc_host_api` table of services (HTTP, secrets, state, blobs, log,
 *     clock) when it opens an instance.
 *   - Both tables begin with `uint32_t size; uint32_t abi_version;` and are APPEND-ONLY: fields are
 *     never removed, reordered or retyped within a major version. A reader checks `size` before touching
 *     a field added in a later minor version (see MLC_TABLE_HAS).
 *   - Data crosses as UTF-8 JSON in (ptr, len) views (`mlc_str`). Views passed into a call are valid only
 *     for the duration of that call.
 *   - Output crosses through a caller-owned `mlc_sink`: the callee writes bytes, the caller owns the
 *     buffer. Nobody frees memory allocated by the other side.
 *   - Every call returns an `mlc_status`. On anything but MLC_OK the callee may write a human-readable
 *     message (never containing a secret) to the `err` sink.
 *   - The manifest (JSON) is embedded in the ELF section MLC_MANIFEST_SECTION so the host can read it
 *     without running any plugin code (see MLC_PLUGIN_MANIFEST).
 *
 * Threading
 *   The host never calls one instance from two threads at once. It may call different instances of the
 *   same plugin concurrently, so a plugin keeps no unsynchronised global mutable state. Host services
 *   may be called from any thread that is currently inside a host->plugin call for that instance.
 *
 * Full reference: docs/abi.md.
 */
#ifndef MLC_PLUGIN_H_
#define MLC_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Versioning ------------------------------------------------------------------------------ */

#define MLC_ABI_VERSION_MAJOR 1u
#define MLC_ABI_VERSION_MINOR 2u
/* Minor history (docs/abi.md, "Versioning", has a row for each):
 *   1.1  host service secret_put
 *   1.2  write request member "first_write"; manifest stream member "overlap" (no table change)
 * Every addition to a table, a request/response document or the manifest raises the minor. */
/* abi_version fields carry (major << 16) | minor. */
#define MLC_ABI_VERSION ((MLC_ABI_VERSION_MAJOR << 16) | MLC_ABI_VERSION_MINOR)
#define MLC_ABI_MAJOR(v) ((uint32_t)(v) >> 16)
#define MLC_ABI_MINOR(v) ((uint32_t)(v)&0xFFFFu)

/* True when `table` (a pointer to an ABI table) is large enough to contain `field`. */
#define MLC_TABLE_HAS(table, type, field) ((table)->size >= offsetof(type, field) + sizeof(((type*)0)->field))

#define MLC_PLUGIN_ENTRY_SYMBOL "mlc_plugin_entry"
#define MLC_MANIFEST_SECTION "mlc_manifest"

/* ---- Status ---------------------------------------------------------------------------------- */

/* Fixed-width integer rather than an enum so the representation never depends on the compiler. */
typedef int32_t mlc_status;
#define MLC_OK 0        /* done */
#define MLC_RETRY 1     /* transient (network, 429, 5xx): the host backs off and retries */
#define MLC_ERROR 2     /* permanent failure for this record */
#define MLC_UNCERTAIN 3 /* a write may or may not have landed: host reconciles with lookup first */
#define MLC_AUTH 4      /* credentials rejected */
#define MLC_INVALID 5   /* bad input or configuration */
#define MLC_NOT_FOUND 6 /* the thing asked for does not exist */
/* Hosts treat any other value from a plugin as MLC_ERROR. */

/* ---- Views and sinks ------------------------------------------------------------------------- */

/* A borrowed byte view (normally UTF-8 JSON). Not NUL-terminated; `ptr` may be NULL when len == 0. */
typedef struct mlc_str {
  const char* ptr;
  size_t len;
} mlc_str;

/* A write-only byte sink owned by the caller. `write` appends; it may be called any number of times
 * during the call it was passed to and never after that call returns. */
typedef struct mlc_sink {
  void* ctx;
  void (*write)(void* ctx, const char* data, size_t len);
} mlc_sink;

/* Opaque handles. */
typedef struct mlc_instance mlc_instance; /* owned by the plugin, created by open, freed by close */
typedef struct mlc_host_ctx mlc_host_ctx; /* owned by the host; identifies the calling instance */

/* Log levels for mlc_host_api.log. */
#define MLC_LOG_DEBUG 0
#define MLC_LOG_INFO 1
#define MLC_LOG_WARN 2
#define MLC_LOG_ERROR 3

/* ---- Host services (host -> plugin) ---------------------------------------------------------- */

typedef struct mlc_host_api {
  uint32_t size;        /* sizeof(mlc_host_api) as the host was compiled */
  uint32_t abi_version; /* MLC_ABI_VERSION of the host */

  /* Executes one HTTP request on behalf of the instance's connection. The host resolves relative URLs
   * against the connection's base URL, injects authentication, applies rate limits, retries transient
   * failures within its budget, refreshes tokens on 401, redacts and audits.
   *   request: JSON {"method", "url", "headers": {name: value}, "query": {name: value},
   *                  "idempotency_key"?, "idempotent"?, "multipart"?: [...], "response_blob"?: bool,
   *                  "auth"?: bool (default true), "timeout_ms"?}
   *   body:    raw request body bytes (ignored when "multipart" is given).
   *   meta:    receives JSON {"status": int, "headers": {lower-case name: value}, "blob"?: id}.
   *   body_out receives the raw response body (empty when "response_blob" stored it as a blob).
   * Returns MLC_OK with the final response the host settled on (any status code, e.g. a 404, or a 502 to
   * a non-idempotent POST that the host chose not to repeat; the plugin interprets it), MLC_RETRY when
   * transient failures (429, 503, timeouts, ...) outlasted the retry budget, MLC_UNCERTAIN when a
   * non-idempotent request may have reached the server but no response arrived, MLC_AUTH when
   * credentials could not be obtained or were rejected after one refresh, MLC_INVALID for a malformed
   * request document. */
  mlc_status (*http)(mlc_host_ctx* ctx, mlc_str request, mlc_str body, const mlc_sink* meta,
                     const mlc_sink* body_out, const mlc_sink* err);

  /* Reads a secret of this connection (resolved from the vault or the environment by the host).
   * MLC_NOT_FOUND when the connection has no such secret. Never log what comes back. */
  mlc_status (*secret_get)(mlc_host_ctx* ctx, mlc_str name, const mlc_sink* out, const mlc_sink* err);

  /* Durable, connection-scoped key/value state (e.g. a resolved account id). */
  mlc_status (*state_get)(mlc_host_ctx* ctx, mlc_str key, const mlc_sink* out, const mlc_sink* err);
  mlc_status (*state_put)(mlc_host_ctx* ctx, mlc_str key, mlc_str value, const mlc_sink* err);

  /* Content-addressed binary storage (receipts). blob_put writes the blob id (text) to `id_out`. */
  mlc_status (*blob_put)(mlc_host_ctx* ctx, mlc_str content_type, mlc_str bytes, const mlc_sink* id_out,
                         const mlc_sink* err);
  /* blob_get writes the bytes to `out` and the content type to `content_type_out` (may be NULL). */
  mlc_status (*blob_get)(mlc_host_ctx* ctx, mlc_str id, const mlc_sink* out, const mlc_sink* content_type_out,
                         const mlc_sink* err);

  /* Structured log line; the host adds plugin, connection and time, and redacts secrets. */
  void (*log)(mlc_host_ctx* ctx, int32_t level, mlc_str message);

  /* Milliseconds since the Unix epoch on the host's clock (tests may drive it). */
  int64_t (*now_ms)(mlc_host_ctx* ctx);

  /* ---- v1.0 ends here; append new fields below, never above. ---- */

  /* ---- v1.1 ---- Check MLC_TABLE_HAS(host, mlc_host_api, secret_put) before calling. */

  /* Stores a secret the plugin learned at run time (e.g. a webhook verifier from a handshake), encrypted
   * in the host's vault under (this connection, `name`); secret_get reads it back. Only names the
   * manifest declares under "secrets" may be written. MLC_INVALID for an undeclared name, a secret the
   * connection's configuration takes from the environment or from another connection, an empty value,
   * or when the host has no vault. Neither the value nor any part of it appears in logs or errors. */
  mlc_status (*secret_put)(mlc_host_ctx* ctx, mlc_str name, mlc_str value, const mlc_sink* err);
} mlc_host_api;

/* ---- Plugin table (plugin -> host) ----------------------------------------------------------- */

/* Every operation except open/close/webhook has this shape:
 *   status op(instance, request JSON, out sink, err sink)
 * Request and response documents are specified in docs/abi.md. */
typedef mlc_status (*mlc_op_fn)(mlc_instance* instance, mlc_str request, const mlc_sink* out,
                                const mlc_sink* err);

typedef struct mlc_plugin_api {
  uint32_t size;        /* sizeof(mlc_plugin_api) as the plugin was compiled */
  uint32_t abi_version; /* MLC_ABI_VERSION the plugin was compiled against */

  /* Creates an instance for one connection. `settings` is the connection's validated settings JSON.
   * `host` and `ctx` stay valid until close(). On success stores the instance in *out. */
  mlc_status (*open)(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings, mlc_instance** out,
                     const mlc_sink* err);
  /* Frees the instance. Never fails. */
  void (*close)(mlc_instance* instance);

  /* Verifies credentials and reachability. out: {"ok": true, "account": {...}}. */
  mlc_op_fn check;
  /* Reads one page of a stream. request: {"stream", "cursor"?, "since"?, "limit"?};
   * out: {"records": [canonical...], "next_cursor": string|null, "has_more": bool}. */
  mlc_op_fn read;
  /* Writes one canonical object. request: {"object_type", "object", "refs", "idempotency_key",
   * "dry_run"?}; out: {"target_id", "links"?: {...}}. */
  mlc_op_fn write;
  /* Finds what an earlier (possibly landed) write produced. request: {"object_type",
   * "idempotency_key", "object"?}; out: {"target_id"} or MLC_NOT_FOUND. */
  mlc_op_fn lookup;
  /* Marks records exported at the source. request: {"stream", "items": [{"source_id", "ok",
   * "target_id"?, "reason"?}]}; out: {"acked": n}. */
  mlc_op_fn ack;
  /* Verifies and parses a raw webhook request.
   *   request: JSON {"method", "path", "query": {...}, "headers": {lower-case name: value},
   *                  "received_at_ms"}; body: raw bytes as received.
   *   out: {"reply"?: {"status", "content_type", "body"}, "events": [{"id", "type", "stream"?,
   *         "source_id"?, "payload"?}]}.
   * MLC_AUTH for a forged/unsigned request, MLC_INVALID for a stale or malformed one. */
  mlc_status (*webhook)(mlc_instance* instance, mlc_str request, mlc_str body, const mlc_sink* out,
                        const mlc_sink* err);
  /* Post-authentication hook: given the token endpoint's response (secrets removed), resolves
   * account-level facts (e.g. FreshBooks business id, Zoho api_domain). out: {"state": {k: v},
   * "base_url"?: string}. May be NULL when the plugin needs none. */
  mlc_op_fn auth_resolve;

  /* ---- v1.0 ends here; append new fields below, never above. ---- */
} mlc_plugin_api;

/* The one exported entry point. Returns the plugin's static table, or NULL when it cannot serve a host
 * of `host_abi_version` (the host then refuses the plugin). Must not allocate or start threads. */
typedef const mlc_plugin_api* (*mlc_plugin_entry_fn)(uint32_t host_abi_version);

#if defined(_WIN32)
#define MLC_EXPORT __declspec(dllexport)
#else
#define MLC_EXPORT __attribute__((visibility("default")))
#endif

/* Embeds the plugin manifest (a JSON string literal) in the MLC_MANIFEST_SECTION section. Use once per
 * plugin, at file scope:  MLC_PLUGIN_MANIFEST(R"json({"name": "...", ...})json");  (C++), or with an
 * ordinary string literal from C. The host reads it from the file without loading the library. */
#define MLC_PLUGIN_MANIFEST(json_literal)                                                           \
  __attribute__((section(MLC_MANIFEST_SECTION), used, aligned(1))) const char mlc_manifest_json[] = \
      json_literal

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MLC_PLUGIN_H_ */
