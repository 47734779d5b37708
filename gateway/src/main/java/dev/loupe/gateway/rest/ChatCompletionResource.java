package dev.loupe.gateway.rest;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;

import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.StreamingOutput;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.quarkus.grpc.GrpcClient;
import io.smallrye.common.annotation.Blocking;
import org.eclipse.microprofile.openapi.annotations.Operation;
import org.eclipse.microprofile.openapi.annotations.tags.Tag;
import org.jboss.logging.Logger;

import dev.loupe.contracts.serving.v1.CompletionChunk;
import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.contracts.serving.v1.CompletionResponse;
import dev.loupe.contracts.serving.v1.ContentPart;
import dev.loupe.contracts.serving.v1.InferenceServiceGrpc.InferenceServiceBlockingStub;
import dev.loupe.contracts.serving.v1.Message;
import dev.loupe.contracts.serving.v1.Usage;
import dev.loupe.gateway.grpc.DownstreamCalls;
import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.security.Authorized;
import dev.loupe.support.security.Capability;

/**
 * OpenAI-compatible chat completions: an OpenAI client pointed at the gateway ({@code base_url} ending in
 * {@code /v1}) works unchanged. {@code model} names a deployment. Fields that would change the answer and that Loupe
 * does not implement ({@code n} above 1, tools, log probabilities) are refused, naming the field; fields that only
 * tune what Loupe does not do (penalties, {@code user}) are ignored. Errors are Loupe's problem+json.
 */
@Path("/v1/chat/completions")
@Tag(name = "Inference")
public class ChatCompletionResource {
    private static final Logger LOG = Logger.getLogger(ChatCompletionResource.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final InferenceServiceBlockingStub inference;
    private final DownstreamCalls calls;

    public ChatCompletionResource(@GrpcClient("serving") InferenceServiceBlockingStub inference,
            DownstreamCalls calls) {
        this.inference = inference;
        this.calls = calls;
    }

    // Blocking: a streamed answer is written as the serving-service sends it.
    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    @Produces({MediaType.APPLICATION_JSON, MediaType.SERVER_SENT_EVENTS})
    @Blocking
    @Authorized(Capability.INFERENCE)
    @Operation(summary = "Create a chat completion", description = "OpenAI's chat completions API. `messages` with "
            + "`system`, `user` and `assistant` roles; a user message's content is a text or a list of `text` and "
            + "`image_url` parts, images as `data:` URLs or `https://` URLs of hosts the operator allows (PNG or JPEG). "
            + "`max_tokens` (or `max_completion_tokens`), "
            + "`temperature` 0 to 2 (default 1; 0 is greedy), `top_p`, `stop` (up to 4), `seed`. `response_format` "
            + "`json_schema` constrains the answer to a JSON document of the schema. With `stream: true` the answer "
            + "comes as server-sent `chat.completion.chunk` events ending with `data: [DONE]`. 429 with "
            + "Retry-After when the deployment's queue is full.")
    public Response create(JsonNode body) {
        CompletionRequest request = request(body);
        String model = request.getDeploymentId();
        long created = Instant.now().getEpochSecond();
        if (body.path("stream").asBoolean(false)) {
            return stream(request, model, created, body.path("stream_options").path("include_usage").asBoolean());
        }
        CompletionResponse answer = calls.inferenceOnBehalfOfCaller(inference).complete(request);
        ObjectNode completion = JSON.createObjectNode()
                .put("id", answer.getId())
                .put("object", "chat.completion")
                .put("created", created)
                .put("model", model);
        ObjectNode choice = completion.putArray("choices").addObject().put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", answer.getText());
        choice.putNull("logprobs");
        choice.put("finish_reason", answer.getFinishReason());
        completion.set("usage", usage(answer.getUsage()));
        return Response.ok(completion, MediaType.APPLICATION_JSON_TYPE).build();
    }

    /**
     * The answer as server-sent events. The first chunk is read before the response starts, so that a refusal
     * (unknown deployment, full queue, bad image) is still answered with its status as problem+json.
     */
    private Response stream(CompletionRequest request, String model, long created, boolean includeUsage) {
        Context.CancellableContext call = Context.current().withCancellation();
        Iterator<CompletionChunk> chunks;
        CompletionChunk first;
        Context previous = call.attach();
        try {
            chunks = calls.inferenceOnBehalfOfCaller(inference).streamComplete(request);
            first = chunks.next();
        } catch (RuntimeException e) {
            call.cancel(e);
            throw e;
        } finally {
            call.detach(previous);
        }
        StreamingOutput events = output -> {
            try {
                String id = first.getId();
                ObjectNode opening = chunk(id, created, model);
                ((ObjectNode) opening.withArray("choices").get(0).get("delta")).put("role", "assistant")
                        .put("content", "");
                send(output, opening);
                CompletionChunk next = first;
                while (true) {
                    if (!next.getTextDelta().isEmpty()) {
                        ObjectNode delta = chunk(id, created, model);
                        ((ObjectNode) delta.withArray("choices").get(0).get("delta")).put("content",
                                next.getTextDelta());
                        send(output, delta);
                    }
                    if (!next.getFinishReason().isEmpty()) {
                        ObjectNode last = chunk(id, created, model);
                        ((ObjectNode) last.withArray("choices").get(0)).put("finish_reason", next.getFinishReason());
                        send(output, last);
                        if (includeUsage) {
                            ObjectNode usage = chunk(id, created, model);
                            usage.putArray("choices");
                            usage.set("usage", usage(next.getUsage()));
                            send(output, usage);
                        }
                        break;
                    }
                    if (!chunks.hasNext()) {
                        break;
                    }
                    next = chunks.next();
                }
                output.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                output.flush();
            } catch (StatusRuntimeException e) {
                // The response has started: the failure can only end the stream, as a problem in an error event.
                ProblemException problem = GrpcProblems.fromStatus(e);
                ObjectNode error = JSON.createObjectNode();
                error.putObject("error")
                        .put("message", problem.detail())
                        .put("type", dev.loupe.support.error.ProblemType.TYPE_BASE + problem.type().slug());
                send(output, error);
            } catch (IOException e) {
                LOG.debugf("a streamed completion's client went away: %s", e.getMessage());
            } finally {
                // A client that went away (or an early end) stops the generation.
                call.cancel(null);
            }
        };
        return Response.ok(events, MediaType.SERVER_SENT_EVENTS_TYPE).header("Cache-Control", "no-cache").build();
    }

    private static ObjectNode chunk(String id, long created, String model) {
        ObjectNode chunk = JSON.createObjectNode()
                .put("id", id)
                .put("object", "chat.completion.chunk")
                .put("created", created)
                .put("model", model);
        ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
        choice.putObject("delta");
        choice.putNull("logprobs");
        choice.putNull("finish_reason");
        return chunk;
    }

    private static void send(OutputStream output, JsonNode event) throws IOException {
        output.write(("data: " + JSON.writeValueAsString(event) + "\n\n").getBytes(StandardCharsets.UTF_8));
        output.flush();
    }

    private static ObjectNode usage(Usage usage) {
        return JSON.createObjectNode()
                .put("prompt_tokens", usage.getPromptTokens())
                .put("completion_tokens", usage.getCompletionTokens())
                .put("total_tokens", usage.getPromptTokens() + usage.getCompletionTokens());
    }

    /** The serving-service's request for an OpenAI chat completion body; a field at fault is named. */
    static CompletionRequest request(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw ProblemException.invalid("model", "a JSON object with model and messages is required");
        }
        CompletionRequest.Builder request = CompletionRequest.newBuilder()
                .setDeploymentId(text(body, "model", "model"));
        JsonNode messages = body.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw ProblemException.invalid("messages", "messages must be a non-empty array");
        }
        for (int m = 0; m < messages.size(); m++) {
            request.addMessages(message(messages.get(m), "messages[" + m + "]"));
        }
        JsonNode maxTokens = body.has("max_completion_tokens")
                ? body.get("max_completion_tokens")
                : body.path("max_tokens");
        String maxTokensField = body.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        if (!maxTokens.isMissingNode() && !maxTokens.isNull()) {
            if (!maxTokens.canConvertToInt() || !maxTokens.isIntegralNumber()) {
                throw ProblemException.invalid(maxTokensField, maxTokensField + " must be an integer");
            }
            request.setMaxTokens(maxTokens.asInt());
        }
        number(body, "temperature").ifPresent(request::setTemperature);
        number(body, "top_p").ifPresent(request::setTopP);
        JsonNode seed = body.path("seed");
        if (!seed.isMissingNode() && !seed.isNull()) {
            if (!seed.isIntegralNumber() || !seed.canConvertToLong()) {
                throw ProblemException.invalid("seed", "seed must be an integer");
            }
            request.setSeed(seed.asLong());
        }
        JsonNode stop = body.path("stop");
        if (stop.isTextual()) {
            request.addStop(stop.asText());
        } else if (stop.isArray()) {
            for (JsonNode each : stop) {
                if (!each.isTextual()) {
                    throw ProblemException.invalid("stop", "stop must be a string or an array of strings");
                }
                request.addStop(each.asText());
            }
        } else if (!stop.isMissingNode() && !stop.isNull()) {
            throw ProblemException.invalid("stop", "stop must be a string or an array of strings");
        }
        JsonNode n = body.path("n");
        if (!n.isMissingNode() && !n.isNull() && n.asInt(0) != 1) {
            throw ProblemException.invalid("n", "Loupe answers one choice per request: n must be 1");
        }
        for (String unsupported : new String[]{"tools", "functions", "tool_choice", "function_call"}) {
            if (body.hasNonNull(unsupported)) {
                throw ProblemException.invalid(unsupported, unsupported + " are not supported");
            }
        }
        if (body.path("logprobs").asBoolean(false)) {
            throw ProblemException.invalid("logprobs", "log probabilities are not available");
        }
        JsonNode stream = body.path("stream");
        if (!stream.isMissingNode() && !stream.isNull() && !stream.isBoolean()) {
            throw ProblemException.invalid("stream", "stream must be true or false");
        }
        jsonSchema(body).ifPresent(request::setJsonSchema);
        return request.build();
    }

    private static Message message(JsonNode message, String field) {
        if (!message.isObject()) {
            throw ProblemException.invalid(field, "each message must be an object with role and content");
        }
        Message.Builder built = Message.newBuilder().setRole(text(message, "role", field + ".role"));
        JsonNode content = message.path("content");
        if (content.isTextual()) {
            built.addContent(ContentPart.newBuilder().setText(content.asText()));
        } else if (content.isArray()) {
            for (int p = 0; p < content.size(); p++) {
                JsonNode part = content.get(p);
                String partField = field + ".content[" + p + "]";
                switch (part.path("type").asText("")) {
                    case "text" -> built.addContent(ContentPart.newBuilder()
                            .setText(text(part, "text", partField + ".text")));
                    case "image_url" -> {
                        JsonNode image = part.path("image_url");
                        String url = image.isTextual() ? image.asText() : image.path("url").asText("");
                        if (url.isEmpty()) {
                            throw ProblemException.invalid(partField + ".image_url.url", "image_url.url is required");
                        }
                        built.addContent(ContentPart.newBuilder().setImageUrl(url));
                    }
                    default -> throw ProblemException.invalid(partField + ".type",
                            "a content part's type must be text or image_url");
                }
            }
        } else {
            throw ProblemException.invalid(field + ".content", "content must be a string or an array of parts");
        }
        return built.build();
    }

    /**
     * The JSON Schema of {@code response_format} (OpenAI's {@code json_schema} type), if the body asks for one.
     * Batches take the same field.
     */
    static java.util.Optional<String> jsonSchema(JsonNode body) {
        JsonNode format = body.path("response_format");
        if (format.isMissingNode() || format.isNull()) {
            return java.util.Optional.empty();
        }
        String type = format.path("type").asText("");
        return switch (type) {
            case "text" -> java.util.Optional.empty();
            case "json_schema" -> {
                JsonNode schema = format.path("json_schema").path("schema");
                if (!schema.isObject()) {
                    throw ProblemException.invalid("response_format.json_schema.schema",
                            "response_format.json_schema.schema must be a JSON Schema object");
                }
                yield java.util.Optional.of(schema.toString());
            }
            case "json_object" -> throw ProblemException.invalid("response_format.type", "json_object is not "
                    + "supported: give the document's JSON Schema with type json_schema");
            default -> throw ProblemException.invalid("response_format.type",
                    "response_format.type must be text or json_schema");
        };
    }

    static String text(JsonNode node, String name, String field) {
        JsonNode value = node.path(name);
        if (!value.isTextual() || value.asText().isEmpty()) {
            throw ProblemException.invalid(field, field + " must be a non-empty string");
        }
        return value.asText();
    }

    static java.util.Optional<Double> number(JsonNode body, String name) {
        JsonNode value = body.path(name);
        if (value.isMissingNode() || value.isNull()) {
            return java.util.Optional.empty();
        }
        if (!value.isNumber()) {
            throw ProblemException.invalid(name, name + " must be a number");
        }
        return java.util.Optional.of(value.asDouble());
    }
}
