# simclr_find_turbojpeg(): defines the imported target simclr::turbojpeg (libjpeg-turbo's
# TurboJPEG library and turbojpeg.h) when both are found (Debian libturbojpeg0-dev; or under
# TURBOJPEG_ROOT). simclr::io decodes JPEG files with it.
function(simclr_find_turbojpeg)
  if(TARGET simclr::turbojpeg)
    return()
  endif()
  find_path(SIMCLR_TURBOJPEG_INCLUDE_DIR turbojpeg.h
            HINTS ${TURBOJPEG_ROOT} $ENV{TURBOJPEG_ROOT} PATH_SUFFIXES include)
  find_library(SIMCLR_TURBOJPEG_LIBRARY turbojpeg
               HINTS ${TURBOJPEG_ROOT} $ENV{TURBOJPEG_ROOT} PATH_SUFFIXES lib lib64)
  if(SIMCLR_TURBOJPEG_INCLUDE_DIR AND SIMCLR_TURBOJPEG_LIBRARY)
    add_library(simclr::turbojpeg UNKNOWN IMPORTED GLOBAL)
    set_target_properties(simclr::turbojpeg PROPERTIES
      IMPORTED_LOCATION "${SIMCLR_TURBOJPEG_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${SIMCLR_TURBOJPEG_INCLUDE_DIR}")
  endif()
endfunction()
