# ABI guard, run by CTest as `cmake -DMODE=... -P check_abi.cmake`:
#   MODE=symbols: the defined dynamic symbols of LIBRARY (nm -D --defined-only) must equal the list
#                 in EXPECTED (capi/abi/symbols.txt).
#   MODE=layout:  the output of LAYOUT_PROGRAM must equal EXPECTED (capi/abi/layout.txt), and every
#                 struct and field of HEADER (capi/fathom.h) must appear in it.
# With -DUPDATE=ON it rewrites EXPECTED instead (after a deliberate, documented ABI change).
cmake_minimum_required(VERSION 3.20)

function(compare_lines what actual_text)
  if(UPDATE)
    file(WRITE "${EXPECTED}" "# The ${what_kind} of fathom's C ABI (LP64 Linux). Checked by tests/abi; regenerate\n"
      "# with -DUPDATE=ON only for a deliberate change (docs/C_API.md, Versioning).\n${actual_text}")
    message(STATUS "wrote ${EXPECTED}")
    return()
  endif()
  file(READ "${EXPECTED}" expected_text)
  string(REGEX REPLACE "#[^\n]*\n" "" expected_text "${expected_text}")  # comments
  string(REGEX REPLACE "\n+" ";" expected "${expected_text}")
  string(REGEX REPLACE "\n+" ";" actual "${actual_text}")
  list(REMOVE_ITEM expected "")
  list(REMOVE_ITEM actual "")
  set(added ${actual})
  list(REMOVE_ITEM added ${expected})
  set(removed ${expected})
  list(REMOVE_ITEM removed ${actual})
  if(added OR removed)
    list(JOIN added "\n  + " added_text)
    list(JOIN removed "\n  - " removed_text)
    if(added)
      set(added_text "\n  + ${added_text}")
    endif()
    if(removed)
      set(removed_text "\n  - ${removed_text}")
    endif()
    message(FATAL_ERROR "The ${what} differ from ${EXPECTED} (+ new, - expected):"
      "${added_text}${removed_text}\n"
      "An ABI change must be deliberate (docs/C_API.md, Versioning): update the file with\n"
      "  cmake -DUPDATE=ON -DMODE=${MODE} ... -P tests/abi/check_abi.cmake (see the test's command)\n"
      "or run ctest -V -R abi_ to see it.")
  endif()
  message(STATUS "the ${what} match ${EXPECTED}")
endfunction()

if(MODE STREQUAL "symbols")
  execute_process(COMMAND "${NM}" -D --defined-only "${LIBRARY}"
    OUTPUT_VARIABLE nm_output RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm failed on ${LIBRARY}")
  endif()
  string(REGEX REPLACE "\n" ";" lines "${nm_output}")
  set(names "")
  foreach(line ${lines})
    # "ADDRESS TYPE NAME[@VERSION]"; symbols any linker defines are not ours.
    if(line MATCHES "^[0-9a-fA-F]* *[A-Za-z] ([^@ ]+)")
      set(name "${CMAKE_MATCH_1}")
      if(NOT name MATCHES "^(_init|_fini|_edata|_end|__bss_start)$")
        list(APPEND names "${name}")
      endif()
    endif()
  endforeach()
  list(SORT names)
  list(JOIN names "\n" text)
  set(what_kind "exported symbols")
  compare_lines("exported symbols of ${LIBRARY}" "${text}\n")
elseif(MODE STREQUAL "layout")
  execute_process(COMMAND "${LAYOUT_PROGRAM}" OUTPUT_VARIABLE layout RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${LAYOUT_PROGRAM} failed")
  endif()
  # Every struct and field that the header defines must be measured.
  file(READ "${HEADER}" header)
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" "" header "${header}")  # comments
  string(REPLACE ";" "@" header "${header}")  # a ';' would split CMake lists
  string(REGEX MATCHALL "typedef struct ([a-z_0-9]+) {[^}]*}" structs "${header}")
  set(missing "")
  foreach(s ${structs})
    string(REGEX MATCH "typedef struct ([a-z_0-9]+) {([^}]*)}" _ "${s}")
    set(name "${CMAKE_MATCH_1}")
    string(REGEX MATCHALL "[A-Za-z_][A-Za-z_0-9]*(\\[[^]]*\\])? *@" fields "${CMAKE_MATCH_2}")
    if(NOT layout MATCHES "(^|\n)${name} size")
      list(APPEND missing "${name}")
    endif()
    foreach(f ${fields})
      string(REGEX REPLACE "(\\[[^]]*\\])? *@$" "" f "${f}")
      if(NOT layout MATCHES "(^|\n)${name}\\.${f} offset")
        list(APPEND missing "${name}.${f}")
      endif()
    endforeach()
  endforeach()
  if(missing AND NOT UPDATE)
    list(JOIN missing ", " missing_text)
    message(FATAL_ERROR "tests/abi/abi_layout.c does not measure: ${missing_text}")
  endif()
  set(what_kind "public struct layouts")
  compare_lines("public struct layouts" "${layout}")
else()
  message(FATAL_ERROR "MODE must be symbols or layout")
endif()
