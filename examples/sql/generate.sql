-- Completes a few prompts with llm_generate in spark-sql. From the repository root, after
-- `mvn -B -q install -DskipTests` and `mvn -B -q -pl examples exec:exec` (which writes models/tiny-1234):
--
-- spark-sql --master 'local[2]' --jars connector/target/spark-llm-connector-0.1.0-SNAPSHOT.jar --conf spark.sql.extensions=org.sparkllm.spark.LlmExtensions --conf spark.llm.model=$PWD/models/tiny-1234 -f examples/sql/generate.sql
--
-- spark.llm.model is the default model of every call; any option can also be given per call.

CREATE OR REPLACE TEMP VIEW prompts AS
SELECT * FROM VALUES
  (1, 'en', 'The quick brown fox'),
  (2, 'en', 'Write a haiku about Spark executors.'),
  (3, 'de', 'Nenne drei Flüsse in Deutschland:'),
  (4, 'fr', 'Liste trois fleuves d''Europe :'),
  (5, 'es', 'Escribe un refrán sobre la paciencia.'),
  (6, 'zh', '用一句话介绍大型语言模型。'),
  (7, 'ja', '春の俳句を一つ作ってください。'),
  (8, 'emoji', '🌊 The sea is')
AS prompts(id, lang, prompt);

-- The completion as text, greedy.
SELECT id, lang, prompt, llm_generate(prompt, map('max_tokens', 24)) AS completion
FROM prompts
ORDER BY id;

-- Sampled, with token counts and a per-row error instead of a failed query. Map values share one
-- type, so they are all strings here.
SELECT id, c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens, c.error
FROM (
  SELECT id, llm_generate(
           prompt,
           map('max_tokens', '24', 'temperature', '0.7', 'seed', '42',
               'fail_on_error', 'false', 'return', 'struct')) AS c
  FROM prompts
)
ORDER BY id;
