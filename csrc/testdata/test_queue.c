/* test_queue.c: the message queue - order, full and empty, zero-copy,
 * close and drain, tasks, threads, a forked child that dies holding a
 * reservation and one that dies holding a message, and bad input. */
#include "check.h"
#include "mpsync.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* die_holding forks a child that reserves a slot (writer) or receives a
 * message (reader) and is killed holding it. */
static void die_holding(mps_queue *q, int reader)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct mps_queue_slot s;
        int rc = reader ? mps_queue_receive(q, -1, &s) : mps_queue_reserve(q, -1, &s);
        if (rc != 0)
            _exit(1);
        if (write(fds[1], "x", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    CHECK(read(fds[0], &c, 1) == 1);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
}

enum { per_thread = 20000 };

static void *producer(void *arg)
{
    mps_queue *q = arg;
    for (uint32_t i = 0; i < per_thread; i++)
        CHECK_RC(mps_queue_put(q, &i, sizeof i, -1), 0);
    return NULL;
}

static void *consumer(void *arg)
{
    mps_queue *q = arg;
    long *sum = calloc(1, sizeof *sum);
    uint32_t v;
    size_t n;
    int rc;
    while ((rc = mps_queue_get(q, &v, sizeof v, &n, -1)) == 0) {
        CHECK(n == sizeof v);
        *sum += v;
    }
    CHECK_RC(rc, -EPIPE);
    return sum;
}

int main(void)
{
    mps_queue *q, *q2;
    char buf[16];
    size_t n;

    /* Bad input. */
    CHECK_RC(mps_queue_create(NULL, 0, 8, &q), -EINVAL);
    CHECK_RC(mps_queue_create(NULL, 4, 0, &q), -EINVAL);
    CHECK_RC(mps_queue_open("mps-test-no-such-queue", &q), -ENOENT);
    struct mps_object_spec lock_spec = {.kind = MPS_KIND_LOCK, .format = "", .with_lock = 1};
    mps_object *lock;
    CHECK_RC(mps_object_create(NULL, &lock_spec, NULL, NULL, &lock), 0);
    CHECK_RC(mps_queue_open(mps_object_name(lock), &q), -EMEDIUMTYPE);
    CHECK_RC(mps_shm_unlink(mps_object_name(lock)), 0);
    mps_object_close(lock);

    /* Order, full, empty, over several laps, through two handles. */
    CHECK_RC(mps_queue_create(NULL, 3, 8, &q), 0);
    CHECK(strncmp(mps_queue_name(q), "mps_queue_", 10) == 0);
    CHECK_RC(mps_queue_open(mps_queue_name(q), &q2), 0);
    CHECK(mps_queue_capacity(q2) == 3 && mps_queue_max_msg(q2) == 8);
    CHECK_RC(mps_queue_put(q, "123456789", 9, 0), -EMSGSIZE);
    for (int lap = 0; lap < 4; lap++) {
        for (int i = 0; i < 3; i++) {
            char m[2] = {(char)('a' + lap), (char)('0' + i)};
            CHECK_RC(mps_queue_put(q, m, i == 2 ? 0 : 2, 0), 0);
        }
        CHECK(mps_queue_len(q2) == 3);
        CHECK_RC(mps_queue_put(q, "x", 1, 0), -EAGAIN);
        CHECK_RC(mps_queue_put(q, "x", 1, 1000000), -ETIMEDOUT);
        CHECK_RC(mps_queue_get(q2, buf, 1, &n, 0), -EMSGSIZE);
        for (int i = 0; i < 3; i++) {
            CHECK_RC(mps_queue_get(q2, buf, sizeof buf, &n, 0), 0);
            CHECK(i == 2 ? n == 0 : n == 2 && buf[0] == 'a' + lap && buf[1] == '0' + i);
        }
        CHECK_RC(mps_queue_get(q2, buf, sizeof buf, &n, 0), -EAGAIN);
        CHECK_RC(mps_queue_get(q2, buf, sizeof buf, &n, 1000000), -ETIMEDOUT);
    }

    /* Zero-copy. */
    struct mps_queue_slot r, m;
    CHECK_RC(mps_queue_reserve(q, 0, &r), 0);
    CHECK(r.len == 8);
    memcpy(r.data, "inplace", 7);
    CHECK_RC(mps_queue_receive(q2, 0, &m), -EAGAIN);
    CHECK_RC(mps_queue_commit(q, &r, 9), -EINVAL);
    CHECK_RC(mps_queue_commit(q, &r, 7), 0);
    CHECK_RC(mps_queue_commit(q, &r, 7), -EALREADY);
    CHECK_RC(mps_queue_receive(q2, 0, &m), 0);
    CHECK(m.len == 7 && memcmp(m.data, "inplace", 7) == 0);
    CHECK_RC(mps_queue_release(q2, &m), 0);
    CHECK_RC(mps_queue_release(q2, &m), -EALREADY);

    /* Tasks. */
    CHECK_RC(mps_queue_join(q, 0), -EAGAIN); /* 13 put, none done */
    for (int i = 0; i < 13; i++)
        CHECK_RC(mps_queue_task_done(q), 0);
    CHECK_RC(mps_queue_task_done(q), -ERANGE);
    CHECK_RC(mps_queue_join(q, 0), 0);

    /* Killed holders: a dead writer's position is skipped, a dead reader's
     * slot freed, each counted once. */
    uint64_t lost;
    CHECK_RC(mps_queue_put(q, "a", 1, 0), 0);
    die_holding(q, 0);
    CHECK_RC(mps_queue_put(q, "c", 1, 0), 0);
    CHECK_RC(mps_queue_get(q2, buf, sizeof buf, &n, -1), 0);
    CHECK(n == 1 && buf[0] == 'a');
    CHECK_RC(mps_queue_get(q2, buf, sizeof buf, &n, -1), 0); /* skips the dead writer's */
    CHECK(n == 1 && buf[0] == 'c');
    CHECK_RC(mps_queue_lost(q, &lost), 0);
    CHECK(lost == 1);
    CHECK_RC(mps_queue_put(q, "d", 1, 0), 0);
    die_holding(q, 1);
    CHECK_RC(mps_queue_lost(q, &lost), 0);
    CHECK(lost == 2);
    for (int i = 0; i < 6; i++) {
        CHECK_RC(mps_queue_put(q, "e", 1, 0), 0);
        CHECK_RC(mps_queue_get(q2, buf, sizeof buf, &n, 0), 0);
    }
    CHECK_RC(mps_queue_close(q2), 0);

    /* Close and drain. */
    CHECK_RC(mps_queue_put(q, "f", 1, 0), 0);
    CHECK_RC(mps_queue_close_write(q), 0);
    CHECK(mps_queue_write_closed(q));
    CHECK_RC(mps_queue_put(q, "g", 1, 0), -EPIPE);
    CHECK_RC(mps_queue_get(q, buf, sizeof buf, &n, 0), 0);
    CHECK_RC(mps_queue_get(q, buf, sizeof buf, &n, -1), -EPIPE);
    CHECK_RC(mps_shm_unlink(mps_queue_name(q)), 0);
    CHECK_RC(mps_queue_close(q), 0);

    /* Threads: 4 producers, 4 consumers, every value once. */
    CHECK_RC(mps_queue_create(NULL, 16, 4, &q), 0);
    pthread_t ps[4], cs[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&ps[i], NULL, producer, q);
        pthread_create(&cs[i], NULL, consumer, q);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(ps[i], NULL);
    CHECK_RC(mps_queue_close_write(q), 0);
    long total = 0;
    for (int i = 0; i < 4; i++) {
        void *sum;
        pthread_join(cs[i], &sum);
        total += *(long *)sum;
        free(sum);
    }
    CHECK(total == 4L * per_thread * (per_thread - 1) / 2);
    CHECK_RC(mps_shm_unlink(mps_queue_name(q)), 0);
    CHECK_RC(mps_queue_close(q), 0);
    CHECK(mps_version() >= 3);
    return 0;
}
