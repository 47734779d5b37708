package dev.loupe.dataset.storage;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;

import dev.loupe.dataset.config.DatasetConfig;

/** The blob store the configuration names: the filesystem store, until another implementation exists. */
@ApplicationScoped
public class StorageProducer {

    @Produces
    @ApplicationScoped
    BlobStore blobStore(DatasetConfig config) {
        return new FileBlobStore(config.blobs().dir());
    }
}
