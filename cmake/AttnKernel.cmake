# attn_add_kernel(<target> SPEC <file.attn> [KERNEL <name>] [ARCH <target>]
#                 [PRECISION highest|high])
#
# Compiles kernel <name> (default: <target>) of a spec file ahead of time, at
# build time, into a static library target <target> that carries its header
# (<name>.h, declaring attn_<name>(...)) and links the attn runtime. Like
# Halide's add_halide_library:
#
#   find_package(Attn REQUIRED)
#   attn_add_kernel(causal SPEC causal.attn)
#   target_link_libraries(app PRIVATE causal)     # #include "causal.h"
#
# ARCH is host (default), x86-64-avx2, x86-64-avx512 or x86-64-amx.
# PRECISION (attnc --precision) says how f32 kernels multiply on hosts with
# AMX tiles: highest (the default) as bf16x6, as accurate as f32 FMAs; high
# as bf16x3, about 2^-17 of each term; fma as f32 FMAs.
function(attn_add_kernel target)
  cmake_parse_arguments(ARG "" "SPEC;KERNEL;ARCH;PRECISION" "" ${ARGN})
  if(NOT ARG_SPEC)
    message(FATAL_ERROR "attn_add_kernel(${target}): SPEC <file.attn> is required")
  endif()
  if(NOT ARG_KERNEL)
    set(ARG_KERNEL ${target})
  endif()
  if(NOT ARG_ARCH)
    set(ARG_ARCH host)
  endif()
  if(NOT ARG_PRECISION)
    set(ARG_PRECISION highest)
  endif()
  if(NOT ATTNC_EXECUTABLE)
    message(FATAL_ERROR "attn_add_kernel: ATTNC_EXECUTABLE is not set (use find_package(Attn))")
  endif()
  get_filename_component(spec "${ARG_SPEC}" ABSOLUTE)
  set(dir "${CMAKE_CURRENT_BINARY_DIR}/attn_kernels/${target}")
  file(MAKE_DIRECTORY "${dir}")
  set(header "${dir}/${ARG_KERNEL}.h")
  set(lib "${dir}/lib${ARG_KERNEL}.a")
  add_custom_command(
    OUTPUT "${header}" "${lib}"
    COMMAND "${ATTNC_EXECUTABLE}" compile "${spec}" --kernel ${ARG_KERNEL} --target ${ARG_ARCH} --precision ${ARG_PRECISION} -o "${dir}"
    DEPENDS "${spec}" ${ATTNC_DEPENDS}
    COMMENT "attnc: compiling kernel ${ARG_KERNEL} of ${ARG_SPEC} for ${ARG_ARCH}"
    VERBATIM)
  add_custom_target(${target}_attnc DEPENDS "${header}" "${lib}")
  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${dir}"
    INTERFACE_LINK_LIBRARIES Attn::AttnRuntime)
  add_dependencies(${target} ${target}_attnc)
endfunction()
