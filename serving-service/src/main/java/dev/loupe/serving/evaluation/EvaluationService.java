package dev.loupe.serving.evaluation;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import org.jboss.logging.Logger;

import dev.loupe.contracts.dataset.v1.ChatMessage;
import dev.loupe.contracts.dataset.v1.Example;
import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.engine.worker.AnswerScores;
import dev.loupe.serving.batch.DatasetExamples;
import dev.loupe.serving.batch.ExampleAnswers;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.model.Batch;
import dev.loupe.serving.model.Deployment;
import dev.loupe.serving.model.EvaluationRun;
import dev.loupe.serving.repository.DeploymentRepository;
import dev.loupe.serving.repository.EvaluationRunRepository;
import dev.loupe.serving.service.DeploymentService;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.id.Ids;

/**
 * Scheduled evaluations: a deployment with an evaluation schedule is evaluated, when its cron expression comes due,
 * on its frozen dataset version's validation split, greedily, as the training worker evaluates: exact match of the
 * answer and the answer scores ({@link AnswerScores}). The run is stored next to the model version's training-time
 * scores; a metric below its training-time value by more than the tolerance is a regression, which raises an
 * audited alert event ({@code deployment.evaluation_regressed}). Runs go one at a time, on a thread of their own,
 * their examples beside live requests in the deployment's batches.
 */
@ApplicationScoped
public class EvaluationService {
    private static final Logger LOG = Logger.getLogger(EvaluationService.class);
    static final String EVALUATED = "deployment.evaluated";
    static final String REGRESSED = "deployment.evaluation_regressed";
    /** The scores compared with the training-time ones (higher is better for each). */
    static final List<String> COMPARED = List.of("exact_match", "field_f1", "json_valid", "grounded_accuracy",
            "mean_iou");
    /** Runs shown with a deployment's monitoring. */
    public static final int RUNS_SHOWN = 10;

    private final LoadedDeployments loaded;
    private final DatasetExamples examples;
    private final ExampleAnswers answers;
    private final EvaluationRunRepository runs;
    private final DeploymentRepository deployments;
    private final ServingConfig config;
    /** Each deployment's schedule, read once, and when it was last looked at: the next run is the first after. */
    private final Map<String, Due> due = new ConcurrentHashMap<>();
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(runnable -> {
        Thread evaluations = new Thread(runnable, "loupe-evaluations");
        evaluations.setDaemon(true);
        return evaluations;
    });

    public EvaluationService(LoadedDeployments loaded, DatasetExamples examples, ExampleAnswers answers,
            EvaluationRunRepository runs, DeploymentRepository deployments, ServingConfig config) {
        this.loaded = loaded;
        this.examples = examples;
        this.answers = answers;
        this.runs = runs;
        this.deployments = deployments;
        this.config = config;
    }

    @PreDestroy
    void stop() {
        thread.shutdownNow();
    }

    public Uni<List<EvaluationRun>> latestRuns(String tenant, String deploymentId) {
        return runs.latest(tenant, deploymentId, RUNS_SHOWN);
    }

    /** Starts the evaluations that came due since the last tick (a deployment's runs never overlap). */
    @Scheduled(every = "1s", delayed = "5S", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void startDueEvaluations() {
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        Map<String, ServedDeployment> served = loaded.loaded();
        due.keySet().retainAll(served.keySet());
        for (ServedDeployment deployment : served.values()) {
            String schedule = deployment.deployment().evaluationSchedule();
            if (schedule.isEmpty()) {
                continue;
            }
            String id = deployment.deployment().id();
            Due checked = due.computeIfAbsent(id, key -> new Due(EvaluationSchedule.parse(schedule), now));
            boolean comeDue = checked.schedule().next(checked.since()).map(next -> !next.isAfter(now))
                    .orElse(false);
            if (comeDue && running.add(id)) {
                due.put(id, new Due(checked.schedule(), now));
                thread.execute(() -> {
                    try {
                        evaluate(deployment);
                    } catch (RuntimeException e) {
                        LOG.warnf(e, "the scheduled evaluation of deployment %s did not run; the next one will", id);
                    } finally {
                        running.remove(id);
                    }
                });
            }
        }
    }

    private record Due(EvaluationSchedule schedule, ZonedDateTime since) {
    }

    /** Evaluates the deployment now and records the run; blocking. */
    EvaluationRun evaluate(ServedDeployment served) {
        Deployment deployment = served.deployment();
        DatasetExamples.Reading reading = new DatasetExamples.Reading(deployment.tenant(),
                deployment.evaluationDatasetVersionId(), Batch.VALIDATION, "evaluation:" + deployment.id(),
                deployment.createdByUserId(), deployment.createdByUsername());
        Scores scores = new Scores();
        List<Example> group = new ArrayList<>();
        ExampleAnswers.Settings settings = new ExampleAnswers.Settings(config.evaluations().maxTokens(), 0, "");
        examples.read(reading, 0, example -> {
            group.add(example);
            if (group.size() == config.batches().rowsInFlight()) {
                scores.add(answers.answer(served, settings, group));
                group.clear();
            }
            return true;
        });
        if (!group.isEmpty()) {
            scores.add(answers.answer(served, settings, group));
        }
        Map<String, Double> metrics = scores.metrics();
        Map<String, Double> training = served.trainingEvaluation();
        List<String> regressed = COMPARED.stream()
                .filter(name -> metrics.containsKey(name) && training.containsKey(name)
                        && metrics.get(name) < training.get(name) - config.evaluations().regressionTolerance())
                .toList();
        EvaluationRun run = new EvaluationRun(Ids.newId().toString(), deployment.tenant(), deployment.id(),
                deployment.evaluationDatasetVersionId(), Instant.now(), scores.scored, scores.failed, metrics,
                training, regressed);
        record(deployment, run);
        return run;
    }

    private void record(Deployment deployment, EvaluationRun run) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("name", deployment.name());
        details.put("model_version_id", deployment.modelVersionId());
        details.put("evaluation_run_id", run.id());
        details.put("dataset_version_id", run.datasetVersionId());
        details.put("examples", run.examples());
        details.put("metrics", describe(run.metrics()));
        Map<String, Object> alert = new LinkedHashMap<>(details);
        alert.put("regressed", run.regressed().stream()
                .map(name -> String.format(Locale.ROOT, "%s %.3f < %.3f at training", name, run.metrics().get(name),
                        run.trainingMetrics().get(name)))
                .collect(Collectors.joining("; ")));
        deployments.pool()
                .withTransaction(tx -> runs.insert(tx, run)
                        .chain(() -> deployments.audit(tx, AuditEvents.bySystem(DeploymentService.AUDIT_SOURCE,
                                deployment.tenant(), EVALUATED, "deployment", deployment.id(),
                                Outcome.OUTCOME_SUCCESS, details)))
                        .chain(() -> run.regression()
                                ? deployments.audit(tx, AuditEvents.bySystem(DeploymentService.AUDIT_SOURCE,
                                        deployment.tenant(), REGRESSED, "deployment", deployment.id(),
                                        Outcome.OUTCOME_SUCCESS, alert))
                                : Uni.createFrom().voidItem()))
                .await()
                .atMost(java.time.Duration.ofSeconds(30));
        if (run.regression()) {
            LOG.warnf("Deployment %s (%s) regressed against its training-time evaluation: %s", deployment.name(),
                    deployment.id(), alert.get("regressed"));
        }
    }

    private static String describe(Map<String, Double> metrics) {
        return metrics.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(entry -> String.format(Locale.ROOT, "%s=%.3f", entry.getKey(), entry.getValue()))
                .collect(Collectors.joining(", "));
    }

    /** The scores of a run's answers, as the training worker's evaluation counts them. */
    private static final class Scores {
        private final AnswerScores answerScores = new AnswerScores();
        private int scored;
        private int failed;
        private int exact;

        void add(List<ExampleAnswers.Answer> group) {
            for (ExampleAnswers.Answer answer : group) {
                if (answer.failed()) {
                    failed++;
                    continue;
                }
                String expected = expectedAnswer(answer.example());
                String generated = answer.text().trim();
                scored++;
                exact += generated.equals(expected) ? 1 : 0;
                answerScores.add(generated, expected);
            }
        }

        Map<String, Double> metrics() {
            Map<String, Double> metrics = new LinkedHashMap<>();
            if (scored > 0) {
                metrics.put("exact_match", (double) exact / scored);
                metrics.putAll(answerScores.metrics());
            }
            return metrics;
        }

        /** The example's last assistant turn: the answer it teaches. */
        private static String expectedAnswer(Example example) {
            String expected = "";
            for (ChatMessage message : example.getMessagesList()) {
                if (message.getRole().equals("assistant")) {
                    expected = message.getContent();
                }
            }
            return expected.trim();
        }
    }
}
