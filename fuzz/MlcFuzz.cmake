# mlc_fuzz_target(NAME [LIBS targets...]): the fuzz target NAME_fuzz.cpp of the calling folder (a vendor's
# fuzz/ or this one), defining LLVMFuzzerTestOneInput. It becomes:
#   fuzz_NAME          with clang and -DMLC_FUZZ=ON: a libFuzzer binary (ASan + UBSan; scripts/fuzz.sh);
#   fuzz_NAME_regress  always: a plain executable (regress_main.cpp) run by ctest (label unit) over the
#                      folder's corpus/NAME/ and regressions/NAME/, so every past finding stays tested in CI.
# Included by the top-level CMakeLists before plugins/, so vendor folders declare their own targets.
set(MLC_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})

function(mlc_fuzz_target name)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  set(src ${CMAKE_CURRENT_SOURCE_DIR}/${name}_fuzz.cpp)
  if(MLC_FUZZ)
    add_executable(fuzz_${name} ${src})
    target_include_directories(fuzz_${name} PRIVATE ${MLC_FUZZ_DIR})
    target_link_libraries(fuzz_${name} PRIVATE mlc_sdk ${F_LIBS})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endif()
  # The regression driver is compiled once for every target.
  if(NOT TARGET mlc_fuzz_regress_main)
    add_library(mlc_fuzz_regress_main STATIC ${MLC_FUZZ_DIR}/regress_main.cpp)
  endif()
  add_executable(fuzz_${name}_regress ${src})
  target_link_libraries(fuzz_${name}_regress PRIVATE mlc_fuzz_regress_main)
  target_include_directories(fuzz_${name}_regress PRIVATE ${MLC_FUZZ_DIR})
  target_link_libraries(fuzz_${name}_regress PRIVATE mlc_sdk ${F_LIBS})
  if(MLC_BUILD_TESTS)
    add_test(NAME fuzz_${name}_regress
      COMMAND fuzz_${name}_regress ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${name}
              ${CMAKE_CURRENT_SOURCE_DIR}/regressions/${name})
    set_tests_properties(fuzz_${name}_regress PROPERTIES LABELS unit)
  endif()
endfunction()
