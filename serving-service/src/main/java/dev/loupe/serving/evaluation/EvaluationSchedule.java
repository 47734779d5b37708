package dev.loupe.serving.evaluation;

import java.time.ZonedDateTime;
import java.util.Optional;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;

import dev.loupe.support.error.ProblemException;

/** A deployment's evaluation schedule: a Quartz cron expression, as Quarkus' scheduler reads them. */
public final class EvaluationSchedule {
    private static final CronParser PARSER = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(
            CronType.QUARTZ));

    private final ExecutionTime times;

    private EvaluationSchedule(ExecutionTime times) {
        this.times = times;
    }

    /**
     * @throws ProblemException (invalid, naming {@code options.evaluation_schedule}) when it is no Quartz cron
     *         expression
     */
    public static EvaluationSchedule parse(String expression) {
        try {
            return new EvaluationSchedule(ExecutionTime.forCron(PARSER.parse(expression)));
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalid("options.evaluation_schedule", "evaluation_schedule must be a Quartz cron "
                    + "expression (seconds first, e.g. \"0 0 2 * * ?\" for 02:00 every day): " + e.getMessage());
        }
    }

    /** The first time after {@code after} the schedule names. */
    public Optional<ZonedDateTime> next(ZonedDateTime after) {
        return times.nextExecution(after);
    }
}
