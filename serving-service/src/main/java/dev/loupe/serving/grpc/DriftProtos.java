package dev.loupe.serving.grpc;

import java.util.Locale;

import dev.loupe.contracts.serving.v1.DriftEvent;
import dev.loupe.contracts.serving.v1.DriftStatistic;
import dev.loupe.engine.drift.DriftAssessment;
import dev.loupe.support.grpc.ProtoTime;

/** Drift figures and events as the contract shows them. */
final class DriftProtos {
    private DriftProtos() {
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

    static DriftEvent event(dev.loupe.serving.model.DriftEvent event) {
        DriftEvent.Builder proto = DriftEvent.newBuilder()
                .setId(event.id())
                .setKind(event.kind())
                .setOccurredAt(ProtoTime.of(event.occurredAt()));
        event.features().forEach(feature -> proto.addFeatures(statistic(feature)));
        return proto.build();
    }
}
