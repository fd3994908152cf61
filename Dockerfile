# efs-local's image: one static binary (meson -Dstatic=true) on an empty base,
# run as user 10001, listening on 0.0.0.0 inside with its data in /data.
#   docker build -t efs-local .        (or: podman build --format docker -t efs-local .)
#   docker run -d -p 127.0.0.1:2049:2049 -p 127.0.0.1:2050:2050 -v efs-data:/data efs-local
#
# The "build" stage compiles on Debian 12. With --build-arg BINARY_FROM=prebuilt
# the image is made instead from a root file system already in the build
# context at .container/rootfs (tools/container-rootfs.sh --image makes it);
# the test command builds the image that way from the static binary it has
# just built, since the build machine cannot pull debian:12.
ARG BINARY_FROM=build

FROM docker.io/library/debian:12 AS build
WORKDIR /src
COPY . .
RUN bash tools/install-deps.sh \
 && rm -rf build-static \
 && meson setup build-static -Dstatic=true --buildtype=release \
 && ninja -C build-static efs-local \
 && bash tools/container-rootfs.sh --image build-static/efs-local /rootfs

FROM scratch AS prebuilt
COPY .container/rootfs/ /rootfs/

FROM ${BINARY_FROM} AS binary

FROM scratch
# Root owns the binary and CA data; the data directory and /tmp (SQLite's
# temporary files) are the server's user's. (COPY sets neither the owner nor
# the sticky bit a directory has in the stage, so each is said here.)
COPY --from=binary /rootfs/usr /usr
COPY --from=binary /rootfs/etc /etc
COPY --from=binary --chown=10001:10001 /rootfs/tmp /tmp
COPY --from=binary --chown=10001:10001 /rootfs/data /data
ENV PATH=/usr/local/bin \
    EFS_LOCAL_LISTEN=0.0.0.0 \
    EFS_LOCAL_DATA_DIR=/data \
    EFS_LOCAL_NFS_PORT=2049 \
    EFS_LOCAL_API_PORT=2050
USER 10001:10001
VOLUME /data
EXPOSE 2049 2050
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/efs-local", "health"]
ENTRYPOINT ["/usr/local/bin/efs-local"]
CMD ["serve"]
