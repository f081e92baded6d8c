# Feeds the same user turns (INPUT, one per line) to examples/c/chat.c and to
# `fathom chat -m MODEL -n N --temp 0 --no-color`, and fails unless their standard outputs are
# identical (example_c_chat_test). A missing fixture skips the test unless CI=true.
#   cmake -DCLI=.. -DCHAT=.. -DMODEL=.. -DN=.. -DINPUT=.. -P compare_chat_with_cli.cmake
cmake_minimum_required(VERSION 3.20)
if(NOT EXISTS "${MODEL}")
  if("$ENV{CI}" STREQUAL "true")
    message(FATAL_ERROR "missing fixture ${MODEL} (CI=true)")
  endif()
  message("SKIP: missing fixture ${MODEL}")
  return()
endif()
execute_process(COMMAND "${CHAT}" "${MODEL}" "${N}" 0 INPUT_FILE "${INPUT}"
  OUTPUT_VARIABLE example_out ERROR_VARIABLE example_err RESULT_VARIABLE example_rc)
execute_process(COMMAND "${CLI}" chat -m "${MODEL}" -n "${N}" --temp 0 --no-color
  INPUT_FILE "${INPUT}" OUTPUT_VARIABLE cli_out ERROR_VARIABLE cli_err RESULT_VARIABLE cli_rc)
if(NOT example_rc EQUAL 0 OR NOT cli_rc EQUAL 0)
  message(FATAL_ERROR "chat example (${example_rc}): ${example_err}\nfathom chat (${cli_rc}): ${cli_err}")
endif()
if(NOT example_out STREQUAL cli_out)
  message(FATAL_ERROR "outputs differ\n--- chat example:\n${example_out}\n--- fathom chat:\n${cli_out}")
endif()
string(LENGTH "${example_out}" n)
message(STATUS "identical outputs (${n} bytes)")
