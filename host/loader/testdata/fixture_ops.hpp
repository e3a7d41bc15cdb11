// The operations of the loader's fixture plugin, shared by all its variants (see fixture_ops.cpp for
// what each one does). Each variant defines FixtureName().
#ifndef MLC_HOST_LOADER_TESTDATA_FIXTURE_OPS_HPP_
#define MLC_HOST_LOADER_TESTDATA_FIXTURE_OPS_HPP_

#include "mlc/plugin.h"

// The manifest name of the variant; used in check's reply.
const char* FixtureName();

namespace fixture {

mlc_status Open(const mlc_host_api* host, mlc_host_ctx* ctx, mlc_str settings, mlc_instance** out,
                const mlc_sink* err);
void Close(mlc_instance* instance);
mlc_status Check(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);
mlc_status Read(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);
mlc_status Write(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);
mlc_status Lookup(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);
mlc_status Ack(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);
mlc_status Webhook(mlc_instance* instance, mlc_str request, mlc_str body, const mlc_sink* out,
                   const mlc_sink* err);
mlc_status AuthResolve(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);
// Stands for a function a later minor version might append to the table.
mlc_status FutureOp(mlc_instance* instance, mlc_str request, const mlc_sink* out, const mlc_sink* err);

}  // namespace fixture

#endif  // MLC_HOST_LOADER_TESTDATA_FIXTURE_OPS_HPP_
