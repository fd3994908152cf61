/* Binds a Unix-domain socket at each path given (which makes a socket node in
 * the file system, NFSv4 CREATE of NF4SOCK on an NFS mount) and exits; the
 * node stays. Exit status 1 with a message if any bind fails. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    if (strlen(argv[i]) >= sizeof addr.sun_path) {
      fprintf(stderr, "bind_unix_socket: path too long: %s\n", argv[i]);
      return 1;
    }
    strcpy(addr.sun_path, argv[i]);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
      perror(argv[i]);
      return 1;
    }
    close(fd);
  }
  return 0;
}
