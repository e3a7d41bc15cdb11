# Runs mlc-harness for ctest and passes only when it exits 0 AND prints its "N passed, 0 failed" summary
# (and, with -DREQUIRE=text, a line containing that text).
#   cmake -DHARNESS=mlc-harness -DPLUGIN=template.so -DSANDBOX=template [-DREQUIRE=...] -P run_harness.cmake
execute_process(
  COMMAND ${HARNESS} --plugin ${PLUGIN} --sandbox ${SANDBOX} --verbose
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${out}")
if(err)
  message("stderr:\n${err}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mlc-harness exited with ${rc}")
endif()
if(NOT out MATCHES "(^|\n)[0-9]+ passed, 0 failed(, [0-9]+ skipped)?\n")
  message(FATAL_ERROR "mlc-harness printed no 'N passed, 0 failed' summary line")
endif()
if(DEFINED REQUIRE AND NOT out MATCHES "${REQUIRE}")
  message(FATAL_ERROR "mlc-harness output lacks '${REQUIRE}'")
endif()
