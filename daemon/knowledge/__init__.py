"""Knowledge: KCS articles and their variants, capture on close, search, and what reuse says.

articles         articles: one per problem, a variant per language; lifecycle, revisions, flags, links
capture          on close: reuse an article that knows the problem, or draft one from the SBO note
search           full-text search over articles (FTS5 on SQLite, tsvector on PostgreSQL), suggestions
words            words as the knowledge base indexes them: tokens, stems, concepts, stopwords, keywords
stems            a stemmer for each language mail is detected in (Snowball; a light one for Ukrainian)
lexicon          the support-domain concept lexicon: one concept, its words in each language
redact           customer specifics taken out of text that becomes an article
identifiers      VAT numbers, IBANs, cards and national ids, by their check digits (for redact)
article_replies  reply templates made from articles, and replies that use them
figures          searching as a person does, and what the searches and links say (gaps, health)
quality          the Article Quality Index: each week's sample of each agent's articles, scored on the checklist
published        published variants as the help center shows them: a page, the most used, search, answers
public           where customers read a published variant: its help-center address

Other packages call what is named below (quality as a module); front doors may also use article_replies,
figures, published and public.
"""
from daemon.knowledge.articles import (
    CHECKED_STATES, LIVE_STATES, TRANSITIONS, WHOLE_ARTICLE_ACTIONS, ArticleRefused, ArticleText, NotAllowed,
    add_variant, check_flag, check_language, check_text, clear_flag, create_article, diff, edit_article, flag_queue,
    get_article, get_flag, get_revision, get_variant, link, missing_languages, open_flag_counts, open_flags,
    public_url, raise_flag, reindex_all, revisions, ticket_reopened, transition, unlink,
)
from daemon.knowledge.article_replies import told_article
from daemon.knowledge.capture import (
    ChooseArticle, matches_for_close, on_close, removals_of, restore_removal, store_suggestions, suggest_again,
    suggestions_for,
)
from daemon.knowledge.figures import NEW_PROBLEM_COLUMNS, Gap, gaps, new_problem_rows, new_problems
from daemon.knowledge.search import suggest
from daemon.knowledge import quality

__all__ = [
    "CHECKED_STATES", "LIVE_STATES", "TRANSITIONS", "WHOLE_ARTICLE_ACTIONS", "ArticleRefused", "ArticleText",
    "NotAllowed", "add_variant", "check_flag", "check_language", "check_text", "clear_flag", "create_article", "diff",
    "edit_article", "flag_queue", "get_article", "get_flag", "get_revision", "get_variant", "link",
    "missing_languages", "open_flag_counts", "open_flags", "public_url", "raise_flag", "reindex_all", "revisions",
    "ticket_reopened", "transition", "unlink",
    "ChooseArticle", "matches_for_close", "on_close", "removals_of", "restore_removal", "store_suggestions",
    "suggest_again", "suggestions_for",
    "Gap", "gaps", "NEW_PROBLEM_COLUMNS", "new_problem_rows", "new_problems", "quality", "suggest", "told_article",
]
