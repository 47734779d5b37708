package dev.loupe.gateway.rest;

import java.util.ArrayList;
import java.util.List;

import dev.loupe.contracts.training.v1.ListBaseModelsResponse;
import dev.loupe.contracts.training.v1.ListModelVersionsResponse;
import dev.loupe.gateway.api.BaseModelView;
import dev.loupe.gateway.api.ListPage;
import dev.loupe.gateway.api.ModelVersionView;
import dev.loupe.gateway.api.ModelView;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.id.Ids;

/**
 * The paging of {@code GET /v1/models}: one list over two of the training-service's, the platform's base models by
 * id, then the caller tenant's fine-tuned model versions by id. The cursor says which list a page goes on with:
 * {@code base:<base model id>} while base models remain, {@code version:<model version id>} after. A page that
 * ends the base models is filled up with the first versions.
 */
final class ModelPaging {
    static final int DEFAULT_LIMIT = 20;
    static final int MAX_LIMIT = 100;
    static final String BASE = "base:";
    static final String VERSION = "version:";

    private ModelPaging() {
    }

    /**
     * Where a page starts.
     *
     * @param inVersions whether the base models are behind: the page lists versions only
     * @param after the id the page starts after, in its list; empty for the list's first
     */
    record Cursor(boolean inVersions, String after) {
    }

    /** The page size asked for, the default when absent. */
    static int pageSize(String limit) {
        int parsed = DatasetResource.parseLimit(limit);
        if (parsed == 0) {
            return DEFAULT_LIMIT;
        }
        if (parsed > MAX_LIMIT) {
            throw ProblemException.invalid("limit", "limit must be a whole number between 1 and " + MAX_LIMIT);
        }
        return parsed;
    }

    /** The cursor of an {@code after} parameter: absent, or the {@code next_after} of a previous page. */
    static Cursor cursor(String after) {
        if (after == null || after.isEmpty()) {
            return new Cursor(false, "");
        }
        if (after.startsWith(BASE)) {
            return new Cursor(false, after.substring(BASE.length()));
        }
        if (after.startsWith(VERSION) && Ids.parse(after.substring(VERSION.length())).isPresent()) {
            return new Cursor(true, after.substring(VERSION.length()));
        }
        throw ProblemException.invalid("after", "after must be the next_after of a previous page");
    }

    /** Whether base models remain after this page of them, so that the page is theirs alone. */
    static boolean moreBaseModels(ListBaseModelsResponse bases) {
        return bases.getPage().getHasMore() && bases.getModelsCount() > 0;
    }

    /**
     * How many versions to ask for after the last base models: the room left on the page, or one when there is
     * none, only to learn whether any version follows.
     */
    static int versionsToFill(int pageSize, ListBaseModelsResponse bases) {
        return Math.max(1, pageSize - bases.getModelsCount());
    }

    /** A page of base models only, more of which remain. */
    static ListPage<ModelView> baseModels(ListBaseModelsResponse bases) {
        return ListPage.of(baseModelViews(bases), true, BASE + lastBaseModel(bases));
    }

    /**
     * The last base models, then the first versions, asked for as {@link #versionsToFill} says. When the base
     * models filled the page, the one version asked for is not shown: it only tells whether the list goes on,
     * with the next page's base models (none) and versions from the first.
     */
    static ListPage<ModelView> baseModelsThenVersions(int pageSize, ListBaseModelsResponse bases,
            ListModelVersionsResponse versions) {
        List<ModelView> data = baseModelViews(bases);
        if (bases.getModelsCount() >= pageSize) {
            boolean versionsFollow = versions.getModelVersionsCount() > 0;
            return ListPage.of(data, versionsFollow, BASE + lastBaseModel(bases));
        }
        data.addAll(versionViews(versions));
        return ListPage.of(data, versionsRemain(versions), VERSION + lastVersion(versions));
    }

    /** A page of versions only, the base models being behind. */
    static ListPage<ModelView> versions(ListModelVersionsResponse versions) {
        return ListPage.of(versionViews(versions), versionsRemain(versions), VERSION + lastVersion(versions));
    }

    private static boolean versionsRemain(ListModelVersionsResponse versions) {
        return versions.getPage().getHasMore() && versions.getModelVersionsCount() > 0;
    }

    private static List<ModelView> baseModelViews(ListBaseModelsResponse bases) {
        List<ModelView> views = new ArrayList<>();
        bases.getModelsList().forEach(model -> views.add(BaseModelView.of(model)));
        return views;
    }

    private static List<ModelView> versionViews(ListModelVersionsResponse versions) {
        return versions.getModelVersionsList().stream().<ModelView>map(ModelVersionView::of).toList();
    }

    private static String lastBaseModel(ListBaseModelsResponse bases) {
        return bases.getModelsCount() == 0 ? "" : bases.getModels(bases.getModelsCount() - 1).getId();
    }

    private static String lastVersion(ListModelVersionsResponse versions) {
        int count = versions.getModelVersionsCount();
        return count == 0 ? "" : versions.getModelVersions(count - 1).getId();
    }
}
