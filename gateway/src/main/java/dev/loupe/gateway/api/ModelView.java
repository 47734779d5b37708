package dev.loupe.gateway.api;

import org.eclipse.microprofile.openapi.annotations.media.DiscriminatorMapping;
import org.eclipse.microprofile.openapi.annotations.media.Schema;

/**
 * An entry of the model registry: a base model of the platform, or a fine-tuned model version of the caller's
 * tenant. {@code type} tells which.
 */
@Schema(name = "Model", oneOf = {
        BaseModelView.class, ModelVersionView.class}, discriminatorProperty = "type", discriminatorMapping = {
                @DiscriminatorMapping(value = BaseModelView.TYPE, schema = BaseModelView.class),
                @DiscriminatorMapping(value = ModelVersionView.TYPE, schema = ModelVersionView.class)})
public sealed interface ModelView permits BaseModelView, ModelVersionView {

    /** The base model's id (its name), or the model version's UUID. */
    String id();

    /** {@code base} or {@code fine_tuned}. */
    String type();
}
