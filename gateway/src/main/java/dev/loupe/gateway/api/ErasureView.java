package dev.loupe.gateway.api;

import java.util.List;

import org.eclipse.microprofile.openapi.annotations.media.Schema;

import dev.loupe.contracts.dataset.v1.EraseRecordsResponse;

/**
 * What erasing records did: the records and images gone, and the keyed hashes of the erased records (what an
 * erasure certificate names; they reveal nothing of the content).
 */
@Schema(name = "RecordErasure")
public record ErasureView(String object, long recordsErased, long imagesShredded, List<String> recordHashes) {

    public static ErasureView of(EraseRecordsResponse erased) {
        return new ErasureView("dataset.record_erasure", erased.getRecordsErased(), erased.getImagesShredded(),
                erased.getRecordHashesList());
    }
}
