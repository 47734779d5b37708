package dev.loupe.gateway.api;

import java.time.Instant;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.DatasetVersion;
import dev.loupe.support.grpc.ProtoTime;

/**
 * A frozen, immutable version of a dataset as the REST API shows it.
 *
 * @param manifestHash SHA-256 over the version's record hashes and splits in manifest order
 *        (docs/dataset-formats.md): equal hashes mean equal versions
 * @param erasedRecordCount records erased since the version was frozen (erasure requests): the version no longer
 *        serves them; the counts and the manifest hash still describe it as frozen
 */
@Schema(name = "DatasetVersion")
public record VersionView(String id, String object, String datasetId, int number, long recordCount, long trainCount,
        long validationCount, double validationFraction, long splitSeed, String manifestHash, String description,
        Instant createdAt, ActorView createdBy, long erasedRecordCount) {

    public static VersionView of(DatasetVersion version) {
        return new VersionView(version.getId(), "dataset.version", version.getDatasetId(), version.getNumber(),
                version.getRecordCount(), version.getTrainCount(), version.getValidationCount(),
                version.getValidationFraction(), version.getSplitSeed(), version.getManifestHash(),
                version.getDescription(), ProtoTime.toInstant(version.getCreatedAt()),
                ActorView.of(version.getCreatedBy()), version.getErasedRecordCount());
    }
}
