# Installs the build in BUILD_DIR into WORK_DIR/prefix (cmake --install), then builds and runs
# tests/consumer/cmake (find_package) and the pkg-config consumer against that prefix. With the
# stories260K fixture (FIXTURES or $FATHOM_FIXTURES) both must print its greedy continuation.
cmake_minimum_required(VERSION 3.20)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "failed (${rc}): ${command}\n${out}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(f include/fathom.h include/fathom/fathom.h ${LIBDIR}/libfathom.so.0
    ${LIBDIR}/cmake/fathom/fathomConfig.cmake ${LIBDIR}/cmake/fathom/fathomConfigVersion.cmake
    ${LIBDIR}/pkgconfig/fathom.pc)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
message(STATUS "installed into ${prefix}")

if(DEFINED ENV{FATHOM_FIXTURES} AND NOT "$ENV{FATHOM_FIXTURES}" STREQUAL "")
  set(FIXTURES "$ENV{FATHOM_FIXTURES}")
endif()
set(model "${FIXTURES}/stories260K/stories260K.gguf")
set(expected ", there was a little girl")
if(NOT EXISTS "${model}")
  if("$ENV{CI}" STREQUAL "true")
    message(FATAL_ERROR "missing fixture ${model} (CI=true)")
  endif()
  message(STATUS "no fixture ${model}: the consumers only print the version")
  set(model "")
  set(expected "")
endif()

# 1. find_package(fathom) -> fathom::fathom
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/cmake" -B "${WORK_DIR}/cmake" -G "${GENERATOR}"
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${CC} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build "${WORK_DIR}/cmake")
run("${WORK_DIR}/cmake/consumer_cmake" ${model})
message(STATUS "find_package consumer:\n${output}")
if(NOT output MATCHES "ABI 0" OR NOT output MATCHES "${expected}")
  message(FATAL_ERROR "the find_package consumer printed the wrong text")
endif()

# 2. pkg-config --cflags --libs fathom
set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
run(pkg-config --cflags fathom)
separate_arguments(cflags UNIX_COMMAND "${output}")
run(pkg-config --libs fathom)
separate_arguments(libs UNIX_COMMAND "${output}")
run(${CC} -std=c99 -Wall -Wextra -pedantic -Werror ${cflags} -o "${WORK_DIR}/consumer_pkgconfig"
  "${SOURCE_DIR}/consumer.c" ${libs})
set(ENV{LD_LIBRARY_PATH} "${prefix}/${LIBDIR}")
run("${WORK_DIR}/consumer_pkgconfig" ${model})
message(STATUS "pkg-config consumer:\n${output}")
if(NOT output MATCHES "ABI 0" OR NOT output MATCHES "${expected}")
  message(FATAL_ERROR "the pkg-config consumer printed the wrong text")
endif()
