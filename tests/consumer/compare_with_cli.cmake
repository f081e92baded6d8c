# Runs an example program and `fathom run -m MODEL -p PROMPT -n N --temp 0`, and fails unless their
# standard outputs are identical. Used by the example tests (examples/CMakeLists.txt):
#   cmake -DCLI=.. -DMODEL=.. -DPROMPT=.. -DN=.. [-DNPM_DIR=..] -P compare_with_cli.cmake EXAMPLE...
# With NPM_DIR, first installs examples/node's pinned packages there (npm ci, once per lock file)
# and points NODE_PATH at them; without npm (or the network) that test is skipped unless CI=true.
# A missing fixture skips the test unless CI=true.
cmake_minimum_required(VERSION 3.20)

set(ci OFF)
if("$ENV{CI}" STREQUAL "true")
  set(ci ON)
endif()
function(skip_or_fail message)
  if(ci)
    message(FATAL_ERROR "${message} (CI=true)")
  endif()
  message("SKIP: ${message}")
  return()  # with SKIP_REGULAR_EXPRESSION, the test is reported as skipped
endfunction()

# The example's command line: everything after the script's path.
set(example "")
set(after_script OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_script)
    list(APPEND example "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "-P")
    math(EXPR script_index "${i} + 1")
    set(after_script_next ${script_index})
  endif()
  if(DEFINED after_script_next AND i EQUAL after_script_next)
    set(after_script ON)
  endif()
endforeach()

if(NOT EXISTS "${MODEL}")
  skip_or_fail("missing fixture ${MODEL}")
  return()
endif()

if(NPM_DIR)
  find_program(NPM npm)
  find_program(NODE node)
  if(NOT NPM OR NOT NODE)
    skip_or_fail("node or npm is not installed")
    return()
  endif()
  set(node_src "${CMAKE_CURRENT_LIST_DIR}/../../examples/node")
  file(MAKE_DIRECTORY "${NPM_DIR}")
  file(SHA256 "${node_src}/package-lock.json" lock_hash)
  set(stamp "${NPM_DIR}/node_modules/.fathom-lock-sha256")
  set(installed_hash "")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" installed_hash)
  endif()
  if(NOT installed_hash STREQUAL lock_hash)
    file(COPY "${node_src}/package.json" "${node_src}/package-lock.json" DESTINATION "${NPM_DIR}")
    execute_process(COMMAND "${NPM}" ci --no-audit --no-fund --prefix "${NPM_DIR}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(NOT rc EQUAL 0)
      skip_or_fail("npm ci failed (offline?):\n${out}")
      return()
    endif()
    file(WRITE "${stamp}" "${lock_hash}")
  endif()
  set(ENV{NODE_PATH} "${NPM_DIR}/node_modules")
endif()

execute_process(COMMAND "${CLI}" run -m "${MODEL}" -p "${PROMPT}" -n ${N} --temp 0
  RESULT_VARIABLE rc OUTPUT_VARIABLE expected ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "fathom run failed (${rc}):\n${err}")
endif()
execute_process(COMMAND ${example} "${MODEL}" "${PROMPT}" ${N}
  RESULT_VARIABLE rc OUTPUT_VARIABLE actual ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the example failed (${rc}): ${example}\n${actual}\n${err}")
endif()
if(NOT actual STREQUAL expected)
  message(FATAL_ERROR "the example's output differs from fathom run's:\n"
    "example:    [${actual}]\nfathom run: [${expected}]")
endif()
message(STATUS "same output as fathom run:\n${actual}")
