# mlc_add_plugin(NAME SOURCES...): builds a connector plugin as a shared library named NAME.so in
# ${MLC_PLUGIN_OUTPUT_DIR}. Only the entry symbol is exported; plugins link no libcurl or SQLite.
set(MLC_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/plugin.map)

function(mlc_add_plugin name)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE mlc_sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    LIBRARY_OUTPUT_DIRECTORY ${MLC_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Hidden visibility still lets weak/unique std:: symbols into the dynamic table (and unique symbols
  # keep a library from ever unloading); the version script leaves exactly the entry point.
  target_link_options(${name} PRIVATE "-Wl,--version-script=${MLC_PLUGIN_VERSION_SCRIPT}")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${MLC_PLUGIN_VERSION_SCRIPT})
endfunction()
