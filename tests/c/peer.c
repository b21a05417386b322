/* A C program using sem_open, shm_open and mq_open directly, driven by the
 * interop tests: one command per run, results on stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
    printf("%s %s\n", what, strerror(errno));
    return 1;
}

static struct timespec deadline(double seconds) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)seconds;
    ts.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    return ts;
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *cmd = argv[1], *name = argv[2];

    if (!strcmp(cmd, "sem-create")) {            /* NAME VALUE */
        sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, (unsigned)atoi(argv[3]));
        if (s == SEM_FAILED) return fail(errno == EEXIST ? "EEXIST" : "sem_open");
        printf("created\n");
        return 0;
    }
    if (!strcmp(cmd, "sem-value")) {
        sem_t *s = sem_open(name, 0);
        if (s == SEM_FAILED) return fail(errno == ENOENT ? "ENOENT" : "sem_open");
        int v; sem_getvalue(s, &v);
        printf("%d\n", v);
        return 0;
    }
    if (!strcmp(cmd, "sem-wait")) {              /* NAME SECONDS */
        sem_t *s = sem_open(name, 0);
        if (s == SEM_FAILED) return fail("sem_open");
        printf("waiting\n"); fflush(stdout);
        struct timespec ts = deadline(atof(argv[3]));
        while (sem_timedwait(s, &ts) == -1) {
            if (errno == EINTR) continue;
            return fail(errno == ETIMEDOUT ? "ETIMEDOUT" : "sem_timedwait");
        }
        printf("acquired\n");
        return 0;
    }
    if (!strcmp(cmd, "sem-post")) {
        sem_t *s = sem_open(name, 0);
        if (s == SEM_FAILED) return fail("sem_open");
        if (sem_post(s) == -1) return fail("sem_post");
        printf("posted\n");
        return 0;
    }
    if (!strcmp(cmd, "sem-unlink")) {
        if (sem_unlink(name) == -1) return fail(errno == ENOENT ? "ENOENT" : "sem_unlink");
        printf("unlinked\n");
        return 0;
    }
    if (!strcmp(cmd, "shm-create")) {            /* NAME SIZE TEXT */
        int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd == -1) return fail(errno == EEXIST ? "EEXIST" : "shm_open");
        size_t size = (size_t)atol(argv[3]);
        if (ftruncate(fd, (off_t)size) == -1) return fail("ftruncate");
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) return fail("mmap");
        memcpy(p, argv[4], strlen(argv[4]));
        printf("created\n");
        return 0;
    }
    if (!strcmp(cmd, "shm-read")) {              /* NAME LEN */
        int fd = shm_open(name, O_RDONLY, 0);
        if (fd == -1) return fail(errno == ENOENT ? "ENOENT" : "shm_open");
        struct stat st; fstat(fd, &st);
        size_t len = (size_t)atol(argv[3]);
        char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) return fail("mmap");
        printf("%ld %.*s\n", (long)st.st_size, (int)len, p);
        return 0;
    }
    if (!strcmp(cmd, "shm-unlink")) {
        if (shm_unlink(name) == -1) return fail(errno == ENOENT ? "ENOENT" : "shm_unlink");
        printf("unlinked\n");
        return 0;
    }
    if (!strcmp(cmd, "mq-create")) {             /* NAME MAXMSG MSGSIZE */
        struct mq_attr attr = {0};
        attr.mq_maxmsg = atol(argv[3]);
        attr.mq_msgsize = atol(argv[4]);
        mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (q == (mqd_t)-1) return fail(errno == EEXIST ? "EEXIST" : "mq_open");
        printf("created\n");
        return 0;
    }
    if (!strcmp(cmd, "mq-send")) {               /* NAME PRIORITY TEXT */
        mqd_t q = mq_open(name, O_WRONLY);
        if (q == (mqd_t)-1) return fail("mq_open");
        if (mq_send(q, argv[4], strlen(argv[4]), (unsigned)atoi(argv[3])) == -1)
            return fail("mq_send");
        printf("sent\n");
        return 0;
    }
    if (!strcmp(cmd, "mq-receive")) {            /* NAME SECONDS */
        mqd_t q = mq_open(name, O_RDONLY);
        if (q == (mqd_t)-1) return fail("mq_open");
        struct mq_attr attr; mq_getattr(q, &attr);
        char *buf = malloc((size_t)attr.mq_msgsize);
        unsigned prio;
        printf("waiting\n"); fflush(stdout);
        struct timespec ts = deadline(atof(argv[3]));
        ssize_t n;
        while ((n = mq_timedreceive(q, buf, (size_t)attr.mq_msgsize, &prio, &ts)) == -1) {
            if (errno == EINTR) continue;
            return fail(errno == ETIMEDOUT ? "ETIMEDOUT" : "mq_receive");
        }
        printf("%u %.*s\n", prio, (int)n, buf);
        return 0;
    }
    if (!strcmp(cmd, "mq-attr")) {
        mqd_t q = mq_open(name, O_RDONLY);
        if (q == (mqd_t)-1) return fail(errno == ENOENT ? "ENOENT" : "mq_open");
        struct mq_attr attr; mq_getattr(q, &attr);
        printf("%ld %ld %ld\n", attr.mq_maxmsg, attr.mq_msgsize, attr.mq_curmsgs);
        return 0;
    }
    if (!strcmp(cmd, "mq-unlink")) {
        if (mq_unlink(name) == -1) return fail(errno == ENOENT ? "ENOENT" : "mq_unlink");
        printf("unlinked\n");
        return 0;
    }
    return 2;
}
