package dev.loupe.training.worker;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.loupe.training.model.Job;
import dev.loupe.training.model.JobStatus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The queue's order: fair share between tenants, then priority, then age. */
class JobSchedulerOrderTest {

    @Test
    void aTenantWithFewerRunningJobsGoesFirstWhateverTheOtherTenantsPriorities() {
        List<Job> queued = List.of(job("01-a", "acme", 10), job("02-a", "acme", 10), job("03-g", "globex", -10));
        Map<String, Integer> running = Map.of("acme", 1);

        assertEquals("03-g", JobScheduler.next(queued, running, 5).orElseThrow().id());
    }

    @Test
    void withinATenantHigherPriorityThenOlderJobsGoFirst() {
        List<Job> queued = List.of(job("01-a", "acme", 0), job("02-a", "acme", 5), job("03-a", "acme", 5));

        assertEquals("02-a", JobScheduler.next(queued, Map.of(), 5).orElseThrow().id());
    }

    @Test
    void aTenantAtItsLimitWaitsEvenWithFreeSlots() {
        List<Job> queued = List.of(job("01-a", "acme", 0));

        assertTrue(JobScheduler.next(queued, Map.of("acme", 1), 1).isEmpty());
    }

    @Test
    void slotsAreSharedInTurnsBetweenTenants() {
        List<Job> queued = new ArrayList<>(List.of(job("01-a", "acme", 0), job("02-a", "acme", 0),
                job("03-a", "acme", 0), job("04-g", "globex", 0), job("05-g", "globex", 0)));
        Map<String, Integer> running = new HashMap<>();
        List<String> order = new ArrayList<>();
        for (Optional<Job> next = JobScheduler.next(queued, running, 10); next
                .isPresent(); next = JobScheduler.next(queued, running, 10)) {
            order.add(next.get().id());
            queued.remove(next.get());
            running.merge(next.get().tenant(), 1, Integer::sum);
        }

        assertEquals(List.of("01-a", "04-g", "02-a", "05-g", "03-a"), order);
    }

    private static Job job(String id, String tenant, int priority) {
        return new Job(id, tenant, "base", "hash", "dataset", "version", "manifest", 10, 2, "validation", Map.of(),
                Map.of(), 42, "", Map.of(), priority, 1L << 30, JobStatus.QUEUED, null, "", 0, 0, 0, null, Map.of(),
                Map.of(), "/jobs/" + id, "", null, Instant.EPOCH, null, null, "user", "user");
    }
}
