package dev.loupe.engine.train;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Warmup then cosine decay, at the points that define it. */
class LearningRateScheduleTest {
    private final LearningRateSchedule schedule = new LearningRateSchedule(1e-3, 10, 110, 0.1);

    @Test
    void warmsUpLinearlyFromZero() {
        assertEquals(0, schedule.learningRate(0), 0);
        assertEquals(0.5e-3, schedule.learningRate(5), 1e-15);
        assertEquals(1e-3, schedule.learningRate(10), 1e-15, "the peak at the end of the warmup");
    }

    @Test
    void decaysAlongACosineToTheFloor() {
        assertEquals(0.55e-3, schedule.learningRate(60), 1e-15, "half way: the mean of peak and floor");
        assertEquals(1e-4 + 0.9e-3 * 0.5 * (1 + Math.cos(Math.PI / 4)), schedule.learningRate(35), 1e-15);
        assertEquals(1e-4, schedule.learningRate(110), 1e-15, "the floor at the last step");
        assertEquals(1e-4, schedule.learningRate(500), 1e-15, "and after it");
    }

    @Test
    void withoutWarmupStartsAtThePeak() {
        assertEquals(2.0, new LearningRateSchedule(2.0, 0, 4, 0).learningRate(0), 0);
        assertEquals(0, new LearningRateSchedule(2.0, 0, 4, 0).learningRate(4), 1e-15);
    }

    @Test
    void refusesSchedulesThatEndBeforeTheirWarmup() {
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 10, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(1e-3, 0, 10, 1.5));
    }
}
