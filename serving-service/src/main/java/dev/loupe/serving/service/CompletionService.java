package dev.loupe.serving.service;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;

import dev.loupe.contracts.governance.v1.Outcome;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.contracts.serving.v1.ContentPart;
import dev.loupe.contracts.serving.v1.Message;
import dev.loupe.engine.generate.SamplingSettings;
import dev.loupe.engine.generate.json.JsonConstraint;
import dev.loupe.engine.image.ImagePreprocessor;
import dev.loupe.engine.serve.ServedModel;
import dev.loupe.engine.text.ChatMessage;
import dev.loupe.engine.text.ChatTokenizer;
import dev.loupe.serving.config.ServingConfig;
import dev.loupe.serving.inference.CompletionListener;
import dev.loupe.serving.inference.CompletionResult;
import dev.loupe.serving.inference.LoadedDeployments;
import dev.loupe.serving.inference.ServedDeployment;
import dev.loupe.serving.model.Deployment;
import dev.loupe.serving.repository.DeploymentRepository;
import dev.loupe.support.audit.AuditEvents;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;
import dev.loupe.support.net.RemoteImages;
import dev.loupe.support.security.Caller;

/**
 * Completions: a chat request is checked and encoded (every field at fault named), queued for its deployment's
 * next batch, and audited when it ends: who, which deployment, the outcome and the token counts, never the prompt
 * or the pictures.
 */
@ApplicationScoped
public class CompletionService {
    static final String COMPLETED = "inference.completion";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final SecureRandom SEEDS = new SecureRandom();
    private static final int MAX_STOPS = 4;
    private static final int MAX_STOP_LENGTH = 100;
    private static final double MAX_TEMPERATURE = 2;
    private static final int MAX_URL_LENGTH = 2048;

    private final LoadedDeployments loaded;
    private final DeploymentRepository deployments;
    private final ServingConfig config;

    private final ResponseCache cache;
    private final RemoteImages remoteImages;

    public CompletionService(LoadedDeployments loaded, DeploymentRepository deployments, ServingConfig config,
            ResponseCache cache, Vertx vertx) {
        this.loaded = loaded;
        this.deployments = deployments;
        this.config = config;
        this.cache = cache;
        this.remoteImages = RemoteImages.of(vertx, config.requests().remote(), config.requests().maxImageBytes());
    }

    /**
     * Answers a request; the listener hears the text as it becomes final (for streaming).
     *
     * @param cancelled set it when the caller goes away
     */
    public Uni<CompletionResult> complete(Caller caller, CompletionRequest request, CompletionListener listener,
            AtomicBoolean cancelled) {
        return served(caller, request.getDeploymentId()).chain(deployment -> {
            Optional<String> cacheKey = deployment.deployment().cacheEnabled()
                    ? cache.key(caller.requireTenant(), deployment.deployment().modelVersionId(), request)
                    : Optional.empty();
            if (cacheKey.isPresent()) {
                Optional<CompletionResult> hit = cache.get(cacheKey.get());
                if (hit.isPresent()) {
                    deployment.stats().cacheHit();
                    listener.onText(hit.get().text());
                    return audited(caller, deployment.deployment(), Outcome.OUTCOME_SUCCESS, hit.get(), "")
                            .replaceWith(hit.get());
                }
                deployment.stats().cacheMiss();
            }
            ServedModel.Request encoded;
            List<String> stops;
            try {
                encoded = encode(deployment.host().model(), request);
                stops = stops(request);
            } catch (ProblemException e) {
                return audited(caller, deployment.deployment(), Outcome.OUTCOME_FAILED, null, e.detail())
                        .chain(() -> Uni.createFrom().failure(e));
            }
            Uni<CompletionResult> answer;
            try {
                answer = Uni.createFrom().completionStage(loaded.submit(deployment, encoded, stops, listener,
                        cancelled));
            } catch (ProblemException e) {
                return audited(caller, deployment.deployment(), Outcome.OUTCOME_DENIED, null, e.detail())
                        .chain(() -> Uni.createFrom().failure(e));
            }
            return answer.ifNoItem()
                    .after(config.requests().timeout())
                    .failWith(() -> {
                        cancelled.set(true);
                        return new ProblemException(ProblemType.UPSTREAM_TIMEOUT, "the model did not answer within "
                                + config.requests().timeout().toSeconds() + " s");
                    })
                    .onFailure()
                    .call(e -> audited(caller, deployment.deployment(), Outcome.OUTCOME_FAILED, null,
                            e instanceof ProblemException problem ? problem.detail() : "generation failed"))
                    .call(result -> audited(caller, deployment.deployment(), Outcome.OUTCOME_SUCCESS, result, ""))
                    .invoke(result -> cacheKey.ifPresent(key -> cache.put(key, result)))
                    .onCancellation()
                    .call(() -> {
                        cancelled.set(true);
                        return audited(caller, deployment.deployment(), Outcome.OUTCOME_FAILED, null,
                                "the caller went away");
                    });
        });
    }

    /**
     * The tenant's deployment that answers. A recorded one that does not answer (suspended or failed) says why, and
     * the refusal is audited.
     */
    private Uni<ServedDeployment> served(Caller caller, String nameOrId) {
        if (nameOrId.isEmpty()) {
            throw ProblemException.invalid("model", "model must name a deployment");
        }
        Optional<ServedDeployment> found = loaded.find(caller.requireTenant(), nameOrId);
        if (found.isPresent()) {
            return Uni.createFrom().item(found.get());
        }
        return deployments.byNameOrId(caller.requireTenant(), nameOrId).chain(recorded -> {
            Deployment deployment = recorded.orElseThrow(() -> new ProblemException(ProblemType.NOT_FOUND,
                    "there is no deployment " + nameOrId, "model"));
            if (deployment.state().equals(Deployment.READY)) {
                throw new ProblemException(ProblemType.SERVICE_UNAVAILABLE, "deployment " + deployment.name()
                        + " is still loading; retry shortly");
            }
            ProblemException refused = new ProblemException(ProblemType.CONFLICT, "deployment " + deployment.name()
                    + " is " + deployment.state() + ": " + deployment.failureReason(), "model");
            return audited(caller, deployment, Outcome.OUTCOME_DENIED, null, refused.detail())
                    .chain(() -> Uni.createFrom().<ServedDeployment>failure(refused));
        });
    }

    private Uni<Void> audited(Caller caller, Deployment deployment, Outcome outcome, CompletionResult result,
            String reason) {
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("deployment", deployment.name());
        details.put("model_version_id", deployment.modelVersionId());
        if (result != null) {
            details.put("prompt_tokens", result.promptTokens());
            details.put("image_tokens", result.imageTokens());
            details.put("completion_tokens", result.completionTokens());
            details.put("finish_reason", result.finishReason());
            details.put("cached", result.cached());
        }
        if (!reason.isEmpty()) {
            details.put("reason", reason);
        }
        return deployments.pool()
                .withTransaction(tx -> deployments.audit(tx, AuditEvents.byCaller(caller,
                        DeploymentService.AUDIT_SOURCE, COMPLETED, "deployment", deployment.id(), outcome, details)));
    }

    /**
     * Checks and encodes a chat request for the model: the one way requests become prompts, for completions and
     * batches alike.
     *
     * @throws ProblemException (invalid) naming the field at fault
     */
    public ServedModel.Request encode(ServedModel model, CompletionRequest request) {
        List<ChatMessage> messages = new ArrayList<>();
        List<BufferedImage> images = new ArrayList<>();
        if (request.getMessagesCount() == 0) {
            throw ProblemException.invalid("messages", "messages must hold at least one message");
        }
        for (int m = 0; m < request.getMessagesCount(); m++) {
            Message message = request.getMessages(m);
            String field = "messages[" + m + "]";
            ChatMessage.Role role = switch (message.getRole()) {
                case "system", "developer" -> ChatMessage.Role.system;
                case "user" -> ChatMessage.Role.user;
                case "assistant" -> ChatMessage.Role.assistant;
                default -> throw ProblemException.invalid(field + ".role",
                        "role must be system, developer, user or assistant");
            };
            StringBuilder content = new StringBuilder();
            boolean afterImage = false;
            for (int p = 0; p < message.getContentCount(); p++) {
                ContentPart part = message.getContent(p);
                String partField = field + ".content[" + p + "]";
                if (part.hasImageUrl()) {
                    if (role != ChatMessage.Role.user) {
                        throw ProblemException.invalid(partField, "only user messages may hold images");
                    }
                    if (images.size() == config.requests().maxImages()) {
                        throw ProblemException.invalid(partField, "a request may hold "
                                + config.requests().maxImages() + " images at most");
                    }
                    images.add(image(part.getImageUrl(), partField + ".image_url.url"));
                    content.append(ChatTokenizer.IMAGE_PLACEHOLDER);
                    afterImage = true;
                } else {
                    if (part.getText().contains(ChatTokenizer.IMAGE_PLACEHOLDER)) {
                        throw ProblemException.invalid(partField + ".text", "text must not spell "
                                + ChatTokenizer.IMAGE_PLACEHOLDER + ": send images as image_url parts");
                    }
                    // LLaVA's convention, which Loupe's training data follows: a picture, then a line break.
                    if (afterImage && !part.getText().startsWith("\n")) {
                        content.append('\n');
                    }
                    content.append(part.getText());
                    afterImage = false;
                }
            }
            messages.add(new ChatMessage(role, content.toString()));
        }
        ServedModel.Prompt prompt;
        try {
            prompt = model.prompt(messages, images);
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalid("messages", e.getMessage());
        }
        int room = model.maxPositions() - prompt.ids().length;
        int maxTokens = request.hasMaxTokens() ? request.getMaxTokens() : room;
        if (maxTokens < 1) {
            throw ProblemException.invalid("max_tokens", "max_tokens must be at least 1");
        }
        double temperature = request.hasTemperature() ? request.getTemperature() : 1;
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw ProblemException.invalid("temperature", "temperature must be 0 to " + MAX_TEMPERATURE);
        }
        double topP = request.hasTopP() ? request.getTopP() : 1;
        if (!(topP > 0 && topP <= 1)) {
            throw ProblemException.invalid("top_p", "top_p must be greater than 0 and at most 1");
        }
        long seed = request.hasSeed() ? request.getSeed() : SEEDS.nextLong();
        SamplingSettings settings = new SamplingSettings(Math.min(maxTokens, Math.max(1, room)), temperature, 0, topP,
                seed, Set.of(model.endOfTurnToken()));
        return new ServedModel.Request(prompt, settings, constraint(model, request.getJsonSchema()));
    }

    private static Optional<JsonConstraint> constraint(ServedModel model, String schema) {
        if (schema.isEmpty()) {
            return Optional.empty();
        }
        JsonNode parsed;
        try {
            parsed = JSON.readTree(schema);
        } catch (IOException e) {
            throw ProblemException.invalid("response_format.json_schema.schema", "the schema is not valid JSON");
        }
        try {
            return Optional.of(model.jsonConstraint(parsed));
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalid("response_format.json_schema.schema", e.getMessage());
        }
    }

    private static List<String> stops(CompletionRequest request) {
        if (request.getStopCount() > MAX_STOPS) {
            throw ProblemException.invalid("stop", "stop may hold " + MAX_STOPS + " sequences at most");
        }
        for (String stop : request.getStopList()) {
            if (stop.isEmpty() || stop.length() > MAX_STOP_LENGTH) {
                throw ProblemException.invalid("stop", "each stop sequence must be 1 to " + MAX_STOP_LENGTH
                        + " characters");
            }
        }
        return request.getStopList();
    }

    /** A picture from a {@code data:} URL: PNG or JPEG, base64, within the size limits. */
    /**
     * A picture of a request: a {@code data:} URL, or an {@code https://} URL of a host the operator allows (fetched
     * only at a public address; see {@link RemoteImages}). PNG or JPEG, checked by its first bytes, size-limited.
     */
    private BufferedImage image(String url, String field) {
        byte[] bytes;
        if (url.startsWith("data:")) {
            bytes = inline(url, field);
        } else if (url.startsWith("https://")) {
            bytes = remote(url, field);
        } else {
            throw ProblemException.invalid(field, "an image must be a data: URL, or an https:// URL of a host the"
                    + " operator allows");
        }
        boolean png = bytes.length > 8 && (bytes[0] & 0xff) == 0x89 && bytes[1] == 'P' && bytes[2] == 'N'
                && bytes[3] == 'G';
        boolean jpeg = bytes.length > 3 && (bytes[0] & 0xff) == 0xff && (bytes[1] & 0xff) == 0xd8
                && (bytes[2] & 0xff) == 0xff;
        if (!png && !jpeg) {
            throw ProblemException.invalid(field, "the image must be a PNG or a JPEG");
        }
        try {
            return ImagePreprocessor.decode(bytes);
        } catch (IOException | IllegalArgumentException e) {
            throw ProblemException.invalid(field, "the image cannot be decoded: " + e.getMessage());
        }
    }

    private byte[] inline(String url, String field) {
        int comma = url.indexOf(',');
        if (comma < 0 || !url.substring(0, comma).endsWith(";base64")) {
            throw ProblemException.invalid(field, "a data: URL must be base64-encoded (data:image/png;base64,...)");
        }
        // Base64 takes 4 characters for 3 bytes: refuse an oversized picture before decoding it.
        if ((long) (url.length() - comma - 1) * 3 / 4 > config.requests().maxImageBytes()) {
            throw ProblemException.invalid(field, "the image is larger than " + config.requests().maxImageBytes()
                    + " bytes");
        }
        try {
            return Base64.getMimeDecoder().decode(url.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            throw ProblemException.invalid(field, "the data: URL is not valid base64");
        }
    }

    /** Blocking: requests are encoded on worker threads. */
    private byte[] remote(String url, String field) {
        if (url.length() > MAX_URL_LENGTH) {
            throw ProblemException.invalid(field, "an image URL is at most " + MAX_URL_LENGTH + " characters");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw ProblemException.invalid(field, "the image URL is not a valid URL: " + e.getReason());
        }
        if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
            throw ProblemException.invalid(field, "an image URL names a host, without user information or fragment");
        }
        try {
            return remoteImages.fetch(uri);
        } catch (RemoteImages.Refused e) {
            throw ProblemException.invalid(field, e.getMessage());
        }
    }

    @PreDestroy
    void close() throws IOException {
        remoteImages.close();
    }
}
