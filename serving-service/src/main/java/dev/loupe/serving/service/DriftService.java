package dev.loupe.serving.service;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import jakarta.enterprise.context.ApplicationScoped;

import io.quarkus.scheduler.Scheduled;
import io.smallrye.mutiny.Uni;
import org.jboss.logging.Logger;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.engine.drift.DriftAssessment;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.model.DriftEvent;
import dev.loupe.serving.repository.DeploymentRepository;
import dev.loupe.serving.repository.DriftEventRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.id.Ids;

/**
 * Drift monitoring of the loaded deployments: every check compares each deployment's live window with its training
 * reference, and records a drift event (with its audit event) when the deployment starts drifting or stops.
 */
@ApplicationScoped
public class DriftService {
    private static final Logger LOG = Logger.getLogger(DriftService.class);
    /** Events shown with a deployment's monitoring. */
    static final int EVENTS_SHOWN = 20;

    private final LoadedDeployments loaded;
    private final DeploymentRepository deployments;
    private final DriftEventRepository events;
    private final ServingConfig config;

    public DriftService(LoadedDeployments loaded, DeploymentRepository deployments, DriftEventRepository events,
            ServingConfig config) {
        this.loaded = loaded;
        this.deployments = deployments;
        this.events = events;
        this.config = config;
    }

    /** The deployment's live window against its reference now; empty when its version has no reference. */
    public Optional<DriftAssessment> assess(ServedDeployment served) {
        ServingConfig.Drift drift = config.drift();
        return served.drift().assess(drift.minSamples(), drift.psiThreshold(), drift.rateThreshold());
    }

    /** The deployment's latest drift events, newest first. */
    public Uni<List<DriftEvent>> latestEvents(String tenant, String deploymentId) {
        return events.latest(tenant, deploymentId, EVENTS_SHOWN);
    }

    @Scheduled(every = "${loupe.serving.drift.check-interval:30S}", delayed = "5S", concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    Uni<Void> check() {
        List<Uni<Void>> changes = new ArrayList<>();
        for (ServedDeployment served : loaded.loaded().values()) {
            assess(served).filter(assessment -> assessment.drifting() != served.drift().drifting())
                    .ifPresent(assessment -> changes.add(record(served, assessment)));
        }
        return changes.isEmpty()
                ? Uni.createFrom().voidItem()
                : Uni.join().all(changes).andCollectFailures().replaceWithVoid();
    }

    /** Records the change, and only then remembers it: a failed write is tried again at the next check. */
    private Uni<Void> record(ServedDeployment served, DriftAssessment assessment) {
        String kind = assessment.drifting() ? DriftEvent.DETECTED : DriftEvent.CLEARED;
        String tenant = served.deployment().tenant();
        String deploymentId = served.deployment().id();
        DriftEvent event = new DriftEvent(Ids.newId().toString(), tenant, deploymentId, kind,
                assessment.features(), Instant.now());
        Map<String, String> details = new LinkedHashMap<>();
        details.put("name", served.deployment().name());
        details.put("model_version_id", served.deployment().modelVersionId());
        details.put("drift_event_id", event.id());
        details.put("drifted", assessment.drifted().stream().map(DriftService::describe).collect(Collectors.joining(
                "; ")));
        return deployments.pool()
                .withTransaction(tx -> events.insert(tx, event)
                        .chain(() -> deployments.audit(tx, AuditEvents.bySystem(DeploymentService.AUDIT_SOURCE,
                                tenant, "deployment." + kind, "deployment", deploymentId, Outcome.OUTCOME_SUCCESS,
                                details))))
                .invoke(() -> {
                    served.drift().drifting(assessment.drifting());
                    LOG.infof("Deployment %s (%s): %s %s", served.deployment().name(), deploymentId, kind,
                            details.get("drifted"));
                })
                .onFailure()
                .invoke(e -> LOG.warnf(e, "the drift event of deployment %s could not be recorded", deploymentId))
                .onFailure()
                .recoverWithNull()
                .replaceWithVoid();
    }

    /** E.g. {@code image_brightness: psi 0.83 >= 0.25 (reference 0.95, live 0.31)}. */
    static String describe(DriftAssessment.FeatureDrift feature) {
        return String.format(Locale.ROOT, "%s: %s %.3f >= %.3f (reference %.3f, live %.3f)", feature.feature(),
                feature.measure().name().toLowerCase(Locale.ROOT), feature.score(), feature.threshold(),
                feature.reference(), feature.live());
    }
}
