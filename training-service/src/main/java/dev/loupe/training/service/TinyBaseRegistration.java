package dev.loupe.training.service;

import java.nio.file.Files;
import java.nio.file.Path;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.VertxContextSupport;
import org.jboss.logging.Logger;

import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.training.config.TrainingConfig;
import dev.loupe.training.model.BaseModel;
import dev.loupe.training.modelstore.InspectedCheckpoint;
import dev.loupe.training.modelstore.ModelStore;

/**
 * Registers Loupe's own tiny base model ({@code loupe.training.tiny-base}) at start, so that a fresh platform has
 * a model to fine-tune without anything downloaded. A base model with its id is left as it is; a missing or
 * incomplete folder is logged and skipped: start-up never fails for it.
 */
@ApplicationScoped
public class TinyBaseRegistration {
    private static final Logger LOG = Logger.getLogger(TinyBaseRegistration.class);

    /** What a start-up registration did. */
    public enum Outcome {
        REGISTERED, ALREADY_REGISTERED, SKIPPED
    }

    private final BaseModelService baseModels;
    private final ModelStore store;
    private final TrainingConfig config;

    public TinyBaseRegistration(BaseModelService baseModels, ModelStore store, TrainingConfig config) {
        this.baseModels = baseModels;
        this.store = store;
        this.config = config;
    }

    void onStart(@Observes StartupEvent started) {
        register(config.tinyBase().id(), config.tinyBase().displayName(), config.tinyBase().path());
    }

    /**
     * Registers the checkpoint in {@code folder} as a base model of the platform unless {@code id} is taken; never
     * throws. Blocks: call it from a thread that may (start-up's).
     */
    public Outcome register(String id, String displayName, Path folder) {
        try {
            if (VertxContextSupport.subscribeAndAwait(() -> baseModels.exists(id))) {
                LOG.debugf("Base model %s is registered", id);
                return Outcome.ALREADY_REGISTERED;
            }
            if (!Files.isDirectory(folder)) {
                LOG.warnf("Base model %s not registered: no folder at %s (loupe.training.tiny-base.path)", id,
                        folder.toAbsolutePath().normalize());
                return Outcome.SKIPPED;
            }
            InspectedCheckpoint checkpoint = store.inspectConfigured(folder);
            BaseModel registered = VertxContextSupport.subscribeAndAwait(
                    () -> baseModels.registerBySystem(id, displayName, checkpoint));
            LOG.infof("Registered base model %s from %s: %d parameters, content hash %s", id, registered.storageUri,
                    registered.parameterCount, registered.contentHash);
            return Outcome.REGISTERED;
        } catch (ProblemException e) {
            if (e.type() == ProblemType.ALREADY_EXISTS) {
                // Another replica registered it at the same moment.
                return Outcome.ALREADY_REGISTERED;
            }
            LOG.warnf("Base model %s not registered: %s is not a complete checkpoint: %s", id,
                    folder.toAbsolutePath().normalize(), e.detail());
            return Outcome.SKIPPED;
        } catch (Throwable e) {
            if (e instanceof Error error) {
                throw error;
            }
            LOG.warnf(e, "Base model %s not registered from %s", id, folder.toAbsolutePath().normalize());
            return Outcome.SKIPPED;
        }
    }
}
