package dev.loupe.serving.grpc;

import java.util.Locale;

import dev.loupe.contracts.serving.v1.DriftEvent;
import dev.loupe.contracts.serving.v1.DriftStatistic;
import dev.loupe.contracts.serving.v1.EvaluationRun;
import dev.loupe.engine.drift.DriftAssessment;
import dev.loupe.support.grpc.ProtoTime;

/** Drift figures and events, and evaluation runs, as the contract shows them. */
final class MonitoringProtos {
    private MonitoringProtos() {
    }

    static DriftStatistic statistic(DriftAssessment.FeatureDrift feature) {
        return DriftStatistic.newBuilder()
                .setName(feature.feature())
                .setMeasure(feature.measure().name().toLowerCase(Locale.ROOT))
                .setDistance(feature.score())
                .setThreshold(feature.threshold())
                .setDrifted(feature.drifting())
                .setReference(feature.reference())
                .setLive(feature.live())
                .setSamples(feature.samples())
                .setAssessed(feature.assessed())
                .build();
    }

    static EvaluationRun evaluation(dev.loupe.serving.model.EvaluationRun run) {
        return EvaluationRun.newBuilder()
                .setId(run.id())
                .setRanAt(ProtoTime.of(run.ranAt()))
                .setDatasetVersionId(run.datasetVersionId())
                .setExamples(run.examples())
                .setFailedExamples(run.failedExamples())
                .putAllMetrics(run.metrics())
                .putAllTrainingMetrics(run.trainingMetrics())
                .addAllRegressed(run.regressed())
                .setRegression(run.regression())
                .build();
    }

    static DriftEvent event(dev.loupe.serving.model.DriftEvent event) {
        DriftEvent.Builder proto = DriftEvent.newBuilder()
                .setId(event.id())
                .setKind(event.kind())
                .setOccurredAt(ProtoTime.of(event.occurredAt()));
        event.features().forEach(feature -> proto.addFeatures(statistic(feature)));
        return proto.build();
    }
}
