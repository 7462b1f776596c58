# Installs ztc.service and ztc-node with the paths of the prefix used at
# install time (cmake --install --prefix, or /usr when CPack builds the .deb),
# not the one configured: the FHS places /usr's configuration in /etc.
# Set by CMakeLists.txt: ZTC_SOURCE_DIR, ZTC_BINARY_DIR, ZTC_BINDIR,
# ZTC_LIBEXECDIR, ZTC_SYSTEMD_UNIT_DIR (relative directories).
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix STREQUAL "/usr")
  set(CMAKE_INSTALL_FULL_SYSCONFDIR /etc)
  set(CMAKE_INSTALL_FULL_LOCALSTATEDIR /var)
else()
  set(CMAKE_INSTALL_FULL_SYSCONFDIR "${prefix}/etc")
  set(CMAKE_INSTALL_FULL_LOCALSTATEDIR "${prefix}/var")
endif()
set(CMAKE_INSTALL_FULL_BINDIR "${prefix}/${ZTC_BINDIR}")
set(ZTC_BOOT_SCRIPT "${prefix}/${ZTC_LIBEXECDIR}/ztc/ztc-node")
set(out "${ZTC_BINARY_DIR}/systemd-install")
configure_file("${ZTC_SOURCE_DIR}/tools/systemd/ztc.service.in" "${out}/ztc.service" @ONLY)
configure_file("${ZTC_SOURCE_DIR}/tools/systemd/ztc-node.in" "${out}/ztc-node" @ONLY)
if(IS_ABSOLUTE "${ZTC_SYSTEMD_UNIT_DIR}")
  set(unit_dir "${ZTC_SYSTEMD_UNIT_DIR}")
else()
  set(unit_dir "${prefix}/${ZTC_SYSTEMD_UNIT_DIR}")
endif()
file(INSTALL DESTINATION "${unit_dir}" TYPE FILE FILES "${out}/ztc.service")
file(INSTALL DESTINATION "${prefix}/${ZTC_LIBEXECDIR}/ztc" TYPE PROGRAM FILES "${out}/ztc-node")
