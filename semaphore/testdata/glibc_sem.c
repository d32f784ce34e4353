/* glibc_sem.c - a C process using glibc's own sem_open/sem_wait/sem_post on
 * a named semaphore that a Go SemLock also uses, for the semaphore tests.
 *
 *   glibc_sem SEM SEGMENT N   open semaphore SEM (a mutex, value 1) and
 *                             segment SEGMENT; print "proctest: ready"; on
 *                             an order line add 1 to the int64 at offset 0
 *                             of the segment N times under the semaphore;
 *                             print "done" */
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    char name[300];
    snprintf(name, sizeof name, "/%s", argv[1]);
    sem_t *sem = sem_open(name, 0);
    if (sem == SEM_FAILED) {
        perror("sem_open");
        return 1;
    }
    snprintf(name, sizeof name, "/%s", argv[2]);
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0) {
        perror("shm_open");
        return 1;
    }
    volatile int64_t *counter = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (counter == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    long n = atol(argv[3]);
    char line[16];
    printf("proctest: ready\n");
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL)
        return 1;
    for (long i = 0; i < n; i++) {
        while (sem_wait(sem) != 0)
            ;
        *counter = *counter + 1;
        sem_post(sem);
    }
    printf("done\n");
    return 0;
}
